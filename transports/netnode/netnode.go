// Package netnode implements the VNL side of vdeplug4's netnodes, hub://,
// switch://, multi:// and bonding://: an in-process node that creates a
// vde_switch-compatible control directory (through transports/vde2's
// server), so that any vde:// client (ours, the real vde_plug, QEMU with
// libvdeplug…) joins it, while the process that opened the node is its
// "host" port. The forwarding itself is actors/netnode.
//
//	KIND://[PATH][mode=OCTAL/dirmode=OCTAL/grp=GROUP/hashsize=N/hashseed=N/expiretime=S]
//
// PATH defaults to /tmp/vdenode_<user>; its directory part is resolved
// with realpath and PATH itself must not exist ("File exists"). mode
// (default 0600, execute bits dropped) is the permission of PATH/ctl and
// of the clients' sockets, dirmode (default 02700, or derived from mode as
// vdeplug does) that of PATH, grp their group. hashsize (256), hashseed (0)
// and expiretime (120 s) tune the switch's MAC table.
//
// Differences from vdeplug 4.0.1 (see COMPATIBILITY.md): a port-0 request
// ([0]) is answered like any other; a control connection that sends no
// valid request and closes is dropped (the original spins at 100 % CPU);
// the open arguments' mode and group (vde_plug -m/-g) are honoured as in
// vdeplug HEAD; bad options are errors; clients' sockets are named
// PATH/NNN.ID as vde_switch names them (the original: PATH/fdN).
package netnode

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	node "github.com/govde/govde/actors/netnode"
	"github.com/govde/govde/transports/vnl"
)

// Defaults of the netnodes.
const (
	DefaultMode    = 0600
	DefaultDirMode = 02700
	// DefaultMaxFrame is vdeplug's VDE_ETHBUFSIZE: the largest frame a
	// netnode of vde_plug moves (9216 + 14 + 4).
	DefaultMaxFrame = 9234
	// DefaultPathPrefix is the directory used without PATH, followed by the
	// user name (or "u" and the effective uid).
	DefaultPathPrefix = "/tmp/vdenode_"
)

// Keys are the bracket options in vdeplug's order (an abbreviation matches
// the first key it prefixes).
var Keys = []string{"mode", "dirmode", "grp", "hashsize", "hashseed", "expiretime"}

// Config is a netnode's configuration.
type Config struct {
	Kind node.Kind
	// Path is the node's directory (absolute, not existing yet).
	Path string
	// Mode is the permission of PATH/ctl and the clients' sockets, DirMode
	// that of PATH.
	Mode, DirMode int
	// Group is the gid of PATH, PATH/ctl and the sockets; -1 = unchanged.
	Group int
	// HashSize, HashSeed and Expire (seconds) set the switch's MAC table
	// (0 = the defaults).
	HashSize int
	HashSeed uint64
	Expire   int64
	// MaxFrame is the largest frame taken from clients (0 =
	// DefaultMaxFrame; at most 65535).
	MaxFrame int
	// Logf receives the control socket's log lines (refused or malformed
	// requests); nil means log.Printf.
	Logf func(format string, args ...any)
}

// OptionError is a bad VNL option: its text names the module, the option
// and the problem (it deliberately wraps no errno, so that vde_plug prints
// it as it is).
type OptionError struct {
	Module, Key, Value, Problem string
}

// Is reports whether target is EINVAL, the errno vdeplug sets for bad
// options (errors.Is works although OptionError wraps no errno).
func (e *OptionError) Is(target error) bool { return target == syscall.EINVAL }

// Error returns "KIND: option KEY=\"VALUE\": PROBLEM" (or "KIND: PROBLEM").
func (e *OptionError) Error() string {
	if e.Key == "" {
		return e.Module + ": " + e.Problem
	}
	return fmt.Sprintf("%s: option %s=%q: %s", e.Module, e.Key, e.Value, e.Problem)
}

// ParseVNL parses the argument of a netnode VNL of the given kind. The open
// arguments' Mode (execute bits dropped) and Group are the defaults the
// VNL's options override, as in vdeplug HEAD; Mode 0 means DefaultMode.
// MaxFrame comes from a.MaxFrame.
func ParseVNL(kind node.Kind, arg string, a vnl.Args) (Config, error) {
	mod := kind.String()
	path, opts, _, err := vnl.ParseBracket(arg, Keys, false)
	if err != nil {
		if ke, ok := err.(*vnl.KeyError); ok {
			return Config{}, &OptionError{Module: mod, Problem: fmt.Sprintf("unknown option %q (known: %s)", ke.Key, strings.Join(Keys, ", "))}
		}
		return Config{}, err
	}
	cfg := Config{Kind: kind, Mode: DefaultMode, DirMode: DefaultDirMode, Group: -1, MaxFrame: a.MaxFrame}
	if a.Mode != 0 {
		cfg.Mode = int(a.Mode.Perm()) &^ 0111
		cfg.DirMode = derivedDirMode(cfg.Mode)
	}
	grp := a.Group
	if s, ok := opts.Last("grp"); ok {
		grp = s
	}
	if grp != "" {
		if cfg.Group, err = groupID(mod, grp); err != nil {
			return Config{}, err
		}
	}
	if s, ok := opts.Last("mode"); ok {
		v, err := strconv.ParseUint(s, 8, 32)
		if err != nil || v > 07777 {
			return Config{}, &OptionError{Module: mod, Key: "mode", Value: s, Problem: "want an octal permission such as 0660"}
		}
		cfg.Mode = int(v) &^ 0111
		cfg.DirMode = derivedDirMode(cfg.Mode)
	}
	if s, ok := opts.Last("dirmode"); ok {
		v, err := strconv.ParseUint(s, 8, 32)
		if err != nil || v > 07777 {
			return Config{}, &OptionError{Module: mod, Key: "dirmode", Value: s, Problem: "want an octal permission such as 02770"}
		}
		cfg.DirMode = int(v)
	}
	num := func(key string, max uint64) (uint64, error) {
		s, _ := opts.Last(key)
		v, err := strconv.ParseUint(s, 0, 64)
		if err != nil || v > max {
			return 0, &OptionError{Module: mod, Key: key, Value: s, Problem: fmt.Sprintf("want a number from 0 to %d", max)}
		}
		return v, nil
	}
	if opts.Has("hashsize") {
		v, err := num("hashsize", 1<<24)
		if err != nil {
			return Config{}, err
		}
		cfg.HashSize = int(v)
	}
	if opts.Has("hashseed") {
		v, err := num("hashseed", 1<<64-1)
		if err != nil {
			return Config{}, err
		}
		cfg.HashSeed = v
	}
	if opts.Has("expiretime") {
		v, err := num("expiretime", 1<<31-1)
		if err != nil {
			return Config{}, err
		}
		cfg.Expire = int64(v)
	}
	if cfg.Path, err = nodePath(path); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// derivedDirMode is vdeplug's directory mode for a socket mode: setgid,
// the mode, and x for every class that may read or write.
func derivedDirMode(mode int) int {
	return 02000 | mode | (mode&0444)>>2 | (mode&0222)>>1
}

// nodePath returns the node's absolute path: the default for "", else the
// directory part resolved with realpath joined with the last element.
func nodePath(p string) (string, error) {
	if p == "" {
		euid := os.Geteuid()
		if u, err := user.LookupId(strconv.Itoa(euid)); err == nil && u.Username != "" {
			return DefaultPathPrefix + u.Username, nil
		}
		return DefaultPathPrefix + "u" + strconv.Itoa(euid), nil
	}
	p = filepath.Clean(p)
	dir, base := filepath.Dir(p), filepath.Base(p)
	rdir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", err
	}
	rdir, err = filepath.Abs(rdir)
	if err != nil {
		return "", err
	}
	return filepath.Join(rdir, base), nil
}

// groupID resolves a group name or number.
func groupID(mod, s string) (int, error) {
	if g, err := user.LookupGroup(s); err == nil {
		if v, err := strconv.Atoi(g.Gid); err == nil {
			return v, nil
		}
	}
	if v, err := strconv.ParseUint(s, 0, 31); err == nil {
		return int(v), nil
	}
	return -1, &OptionError{Module: mod, Key: "grp", Value: s, Problem: "no such group"}
}
