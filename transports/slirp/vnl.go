package slirp

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/vnl"
)

// Module is the VNL module name.
const Module = "slirp"

// vnlKeys are the slash options of slirp:// this implementation supports
// (a subset of vdeplug_slirp's).
var vnlKeys = []string{"v4", "v6", "addr", "host", "addr6", "host6", "dhcp", "vnameserver", "vnameserver6", "ra", "tcpfwd", "udpfwd", "dnsupstream", "mtu"}

// Open is the slirp module's vnl.Opener: `slirp://[/opt…]` with the slash
// options v4 and v6 (both always on), addr|host=IP[%2FBITS] (the '/' of a
// prefix written %2F or quoted; an IPv6 value sets the IPv6 gateway and
// /64, as addr6|host6 do), dhcp[=FIRST] (DHCPv4 and DHCPv6),
// vnameserver=IP, vnameserver6=IP, ra (router advertisements),
// tcpfwd=[HOSTADDR:]HOSTPORT:GUESTIP:GUESTPORT, udpfwd=… (repeatable; IPv6
// addresses in brackets) and dnsupstream=HOST:PORT. It is not registered
// by this package.
func Open(arg string, a vnl.Args) (transports.Endpoint, error) {
	_, opts, err := vnl.ParseSlash(arg, vnlKeys)
	if err != nil {
		return nil, err
	}
	cfg, err := configFromOptions(opts)
	if err != nil {
		return nil, err
	}
	cfg.Describe = "slirp://" + arg
	return New(cfg)
}

// configFromOptions builds a Config from parsed slash options.
func configFromOptions(opts vnl.Options) (Config, error) {
	var cfg Config
	for _, o := range opts {
		switch o.Key {
		case "addr", "host", "addr6", "host6":
			p, err := ParseHost(o.Value)
			if err != nil || (strings.HasSuffix(o.Key, "6") && !p.Addr().Is6()) {
				return cfg, fmt.Errorf("slirp: bad %s %q", o.Key, o.Value)
			}
			if p.Addr().Is6() {
				cfg.Host6 = p
			} else {
				cfg.Host = p
			}
		case "ra":
			cfg.RA = true
		case "vnameserver6":
			a, err := netip.ParseAddr(o.Value)
			if err != nil || !a.Is6() {
				return cfg, fmt.Errorf("slirp: bad vnameserver6 %q", o.Value)
			}
			cfg.DNS6 = a
		case "dhcp":
			cfg.DHCP = true
			if o.Value != "" {
				a, err := netip.ParseAddr(o.Value)
				if err != nil {
					return cfg, fmt.Errorf("slirp: bad dhcp %q", o.Value)
				}
				cfg.DHCPStart = a
			}
		case "vnameserver":
			a, err := netip.ParseAddr(o.Value)
			if err != nil {
				return cfg, fmt.Errorf("slirp: bad vnameserver %q", o.Value)
			}
			cfg.DNS = a
		case "dnsupstream":
			cfg.DNSUpstream = o.Value
		case "mtu":
			n, err := strconv.Atoi(o.Value)
			if err != nil || n < MinMTU || n > MaxMTU {
				return cfg, fmt.Errorf("slirp: bad mtu %q (%d..%d)", o.Value, MinMTU, MaxMTU)
			}
			cfg.MTU = n
		case "tcpfwd", "udpfwd":
			f, err := ParseForward(o.Value)
			if err != nil {
				return cfg, fmt.Errorf("slirp: %w", err)
			}
			if o.Key == "tcpfwd" {
				cfg.TCPForwards = append(cfg.TCPForwards, f)
			} else {
				cfg.UDPForwards = append(cfg.UDPForwards, f)
			}
		}
	}
	return cfg, nil
}

// ParseHost parses a gateway address as -H and addr= take it: ADDR[/BITS],
// the prefix length defaulting to 24 (IPv4) or 64 (IPv6).
func ParseHost(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("bad host address %q", s)
	}
	if a.Is6() {
		return netip.PrefixFrom(a, 64), nil
	}
	return netip.PrefixFrom(a, 24), nil
}

var _ vnl.Opener = Open
