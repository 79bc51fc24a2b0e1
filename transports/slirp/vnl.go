package slirp

import (
	"fmt"
	"net/netip"

	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/vnl"
)

// Module is the VNL module name.
const Module = "slirp"

// vnlKeys are the slash options of slirp:// this implementation supports
// (a subset of vdeplug_slirp's).
var vnlKeys = []string{"v4", "addr", "host", "dhcp", "vnameserver", "tcpfwd", "udpfwd", "dnsupstream"}

// Open is the slirp module's vnl.Opener: `slirp://[/opt…]` with the slash
// options v4, addr|host=IP[%2FBITS] (the '/' of a prefix written %2F or
// quoted), dhcp[=FIRST], vnameserver=IP,
// tcpfwd=[HOSTADDR:]HOSTPORT:GUESTIP:GUESTPORT, udpfwd=… (repeatable) and
// dnsupstream=HOST:PORT. It is not registered by this package.
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
		case "addr", "host":
			p, err := netip.ParsePrefix(o.Value)
			if err != nil {
				a, err2 := netip.ParseAddr(o.Value)
				if err2 != nil {
					return cfg, fmt.Errorf("slirp: bad %s %q", o.Key, o.Value)
				}
				p = netip.PrefixFrom(a, 24)
			}
			cfg.Host = p
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

var _ vnl.Opener = Open
