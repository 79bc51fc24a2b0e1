package cryptcab

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Target is the client's view of a server: vde_cryptcab -c [USER@]HOST[:PORT].
type Target struct {
	User string // "" : the local user
	Host string
	Port int // DefaultPort unless given
}

// ParseTarget parses [USER@]HOST[:PORT]. HOST may be a name, an IPv4
// address, or an IPv6 address in brackets ([::1]:7667) or bare (then it
// takes no port: a bare address that parses whole is the host).
func ParseTarget(s string) (Target, error) {
	t := Target{Port: DefaultPort}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		t.User, s = s[:i], s[i+1:]
	}
	switch {
	case s == "":
		return t, fmt.Errorf("cryptcab: no host in %q", s)
	case strings.HasPrefix(s, "["):
		host, port, err := net.SplitHostPort(s)
		if err != nil {
			if !strings.HasSuffix(s, "]") {
				return t, fmt.Errorf("cryptcab: bad address %q: %v", s, err)
			}
			host, port = s[1:len(s)-1], ""
		}
		t.Host = host
		if port != "" {
			if t.Port, err = parsePort(port); err != nil {
				return t, err
			}
		}
	default:
		if _, err := netip.ParseAddr(s); err == nil {
			t.Host = s
			break
		}
		i := strings.LastIndexByte(s, ':')
		if i < 0 {
			t.Host = s
			break
		}
		t.Host = s[:i]
		p, err := parsePort(s[i+1:])
		if err != nil {
			return t, err
		}
		t.Port = p
	}
	if t.Host == "" {
		return t, fmt.Errorf("cryptcab: no host in %q", s)
	}
	return t, nil
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p <= 0 || p > 65535 {
		return 0, fmt.Errorf("cryptcab: bad port %q", s)
	}
	return p, nil
}

// Addr is HOST:PORT for dialing.
func (t Target) Addr() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

func (t Target) String() string {
	if t.User != "" {
		return t.User + "@" + t.Addr()
	}
	return t.Addr()
}
