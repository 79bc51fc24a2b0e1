// Package vxlan implements the vxlan:// module: Ethernet over RFC 7348
// VXLAN, interoperable with the Linux kernel's vxlan devices and with
// vdeplug4's libvdeplug_vxlan.
//
//	vxlan://[ADDRESS][/port=P][/vni=N][/ttl=T][/rcvbuf=SIZE][/v4][/v6]
//	        [/hashsize=N][/expiretime=S][/if=IFNAME][/bind=LOCAL]
//
// One UDP socket, bound to the wildcard address and the port (4789 by
// default), joins the multicast group ADDRESS (239.0.0.1, or ff05:56de::1
// with v6) with multicast loopback off, and both sends and receives: the
// source port of everything sent is the port, as with vdeplug, and only one
// vxlan:// per port can run in a network namespace. Broadcast, multicast and
// unknown destinations go to the group; frames for a MAC learned from a
// received frame go by unicast to the sender's address at the port (kernels
// send from random source ports but listen on the port).
//
// Differences from vdeplug 4.0.1 (see COMPATIBILITY.md): learning works (the
// original loses every unicast frame); v4/v6 restrict name resolution; bad
// options and unknown interfaces are errors; a unicast ADDRESS is a
// point-to-point peer (the kernel's "remote"), and bind=LOCAL binds the
// socket to a local unicast address (then only unicast is received).
package vxlan

import (
	"net/netip"

	"github.com/govde/govde/transports/internal/vxnet"
)

// Module is the VNL module name.
const Module = "vxlan"

// DefaultPort is the IANA VXLAN port, vdeplug's default.
const DefaultPort = 4789

// DefaultVNI is the network identifier used without a vni option.
const DefaultVNI = 1

// Keys are the slash options in vdeplug's order (an abbreviation matches
// the first key it prefixes); bind is a govde addition.
var Keys = []string{"port", "vni", "ttl", "rcvbuf", "v6", "v4", "hashsize", "expiretime", "if", "bind"}

// Config is an endpoint's configuration. ParseVNL fills it from a VNL.
type Config struct {
	vxnet.Common
	// VNI is the VXLAN network identifier (24 bits).
	VNI uint32
	// MaxFrame is the largest frame carried; 0 means as large as UDP
	// allows over the group's family (vxnet.UDPMaxFrame).
	MaxFrame int
	// Logf receives rate-limited send errors; nil means log.Printf.
	Logf func(format string, args ...any)
}

// ParseVNL parses the argument of a vxlan:// VNL (the text after "://").
// Errors name the offending option.
func ParseVNL(arg string) (Config, error) {
	addr, opts, err := vxnet.ParseOptions(Module, arg, Keys)
	if err != nil {
		return Config{}, err
	}
	c, err := vxnet.ParseCommon(Module, addr, opts, DefaultPort, 0)
	if err != nil {
		return Config{}, err
	}
	cfg := Config{Common: c, VNI: DefaultVNI}
	if s, ok := opts.Last("vni"); ok {
		v, err := vxnet.ParseUint(Module, "vni", s, 0, vxnet.MaxVNI)
		if err != nil {
			return Config{}, err
		}
		cfg.VNI = uint32(v)
	}
	if cfg.Bind.IsValid() && cfg.Addr.IsMulticast() {
		return Config{}, &vxnet.OptionError{Module: Module, Key: "bind", Value: cfg.Bind.String(),
			Problem: "a socket bound to a unicast address cannot receive the group: give a unicast peer address"}
	}
	if cfg.Addr.IsUnspecified() {
		return Config{}, &vxnet.OptionError{Module: Module, Problem: "the address must be a multicast group or a peer, not " + cfg.Addr.String()}
	}
	return cfg, nil
}

// Group returns the peer that floods go to: the group (or unicast peer)
// at the configured port.
func (c Config) Group() vxnet.Peer {
	return vxnet.PeerOf(c.Addr, c.Port, c.Scope())
}

// bindAddr is the socket's local address and port.
func (c Config) bindAddr() netip.AddrPort {
	return netip.AddrPortFrom(c.Bind, c.Port)
}
