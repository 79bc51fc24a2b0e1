package vxnet

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"

	"github.com/govde/govde/transports/vnl"
)

// OptionError is a bad VNL option of a vx module: its text names the
// module, the option and what is wrong, so that vde_plug prints one clear
// line. It deliberately does not wrap an errno (vde_plug would print the
// errno's text alone); errors.Is(err, syscall.EINVAL) holds through Is.
type OptionError struct {
	Module, Key, Value, Problem string
}

// Is reports whether target is EINVAL, the errno vdeplug sets for bad
// options.
func (e *OptionError) Is(target error) bool { return target == syscall.EINVAL }

// Error returns "MODULE: option KEY=\"VALUE\": PROBLEM" (or "MODULE: PROBLEM").
func (e *OptionError) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("%s: %s", e.Module, e.Problem)
	}
	return fmt.Sprintf("%s: option %s=%q: %s", e.Module, e.Key, e.Value, e.Problem)
}

// ParseOptions parses a vx VNL argument with vnl.ParseSlash and turns an
// unknown key into an *OptionError naming it.
func ParseOptions(module, arg string, keys []string) (addr string, opts vnl.Options, err error) {
	addr, opts, err = vnl.ParseSlash(arg, keys)
	var ke *vnl.KeyError
	if errors.As(err, &ke) {
		return "", nil, &OptionError{Module: module, Problem: fmt.Sprintf("unknown option %q (known: %s)", ke.Key, strings.Join(keys, ", "))}
	}
	return addr, opts, err
}

// ParseUint parses an unsigned decimal (or 0x hex, 0 octal: strtol base 0)
// value in [min, max].
func ParseUint(module, key, s string, min, max uint64) (uint64, error) {
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil || v < min || v > max {
		return 0, &OptionError{Module: module, Key: key, Value: s, Problem: fmt.Sprintf("want a number from %d to %d", min, max)}
	}
	return v, nil
}

// ParseSize parses vdeplug's strtoullm sizes: a number (base 0) followed
// by k, m, g or t (either case) multiplying it by 1024^1..4, as in
// rcvbuf=2m. The result must fit in max.
func ParseSize(module, key, s string, max uint64) (uint64, error) {
	bad := &OptionError{Module: module, Key: key, Value: s, Problem: "want a size such as 212992, 512k or 2m"}
	i := len(s)
	for i > 0 && strings.ContainsRune("kKmMgGtT", rune(s[i-1])) {
		i--
	}
	v, err := strconv.ParseUint(s[:i], 0, 64)
	if err != nil {
		return 0, bad
	}
	for _, c := range s[i:] {
		shift := uint(10 * (1 + strings.IndexRune("kmgt", c|0x20)))
		if v > max>>shift {
			return 0, bad
		}
		v <<= shift
	}
	if v > max {
		return 0, bad
	}
	return v, nil
}

// GroupID resolves vdeplug's group arguments (vde_grnam2gid): "" is the
// effective gid, digits a number, anything else a group name. Unlike
// vdeplug, an unknown group is an error rather than "unset".
func GroupID(module, key, s string) (uint32, error) {
	if s == "" {
		return uint32(os.Getegid()), nil
	}
	if s[0] >= '0' && s[0] <= '9' {
		v, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return 0, &OptionError{Module: module, Key: key, Value: s, Problem: "want a group name or number"}
		}
		return uint32(v), nil
	}
	g, err := user.LookupGroup(s)
	if err != nil {
		return 0, &OptionError{Module: module, Key: key, Value: s, Problem: "no such group"}
	}
	v, err := strconv.ParseUint(g.Gid, 10, 32)
	if err != nil {
		return 0, &OptionError{Module: module, Key: key, Value: s, Problem: "group has no numeric id"}
	}
	return uint32(v), nil
}

// ParsePort parses a UDP port number or service name (getaddrinfo accepts
// both).
func ParsePort(module, key, s string) (uint16, error) {
	if v, err := strconv.ParseUint(s, 10, 16); err == nil && v > 0 {
		return uint16(v), nil
	}
	if s != "" && (s[0] < '0' || s[0] > '9') {
		if p, err := net.LookupPort("udp", s); err == nil && p > 0 {
			return uint16(p), nil
		}
	}
	return 0, &OptionError{Module: module, Key: key, Value: s, Problem: "want a UDP port from 1 to 65535 or a service name"}
}

// InterfaceIndex returns the index of the named interface ("" = 0, any).
func InterfaceIndex(module, name string) (int, error) {
	if name == "" {
		return 0, nil
	}
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return 0, &OptionError{Module: module, Key: "if", Value: name, Problem: "no such network interface"}
	}
	return ifi.Index, nil
}
