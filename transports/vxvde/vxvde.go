// Package vxvde implements the vxvde:// module: VDE's distributed LAN over
// UDP multicast, wire-compatible with vdeplug4's libvdeplug_vxvde.
//
//	vxvde://[GROUP][/port=P][/vni=N|GROUPNAME][/grp=GROUP][/ttl=T][/rcvbuf=SIZE]
//	        [/v4][/v6][/hashsize=N][/expiretime=S][/if=IFNAME][/bind=LOCAL]
//
// Every member joins the multicast GROUP (239.0.0.1, or ff05:56de::1 with
// v6) on the port (14789) and sends everything from a second, unicast
// socket bound to an ephemeral port (the "uniport", bind=LOCAL chooses its
// address), with TTL ttl (1). Datagrams carry the 8-byte VXLAN header of
// RFC 7348 with the member's VNI; a receiver takes only datagrams whose
// header is exactly its own. Broadcast, multicast and unknown destinations
// go to the group; a frame for a MAC learned from a received frame goes by
// unicast to the sender's address and uniport. Each member ignores its own
// multicast coming back (same uniport, local source address). On close a
// member sends a header-only datagram to the group ("goodbye"); receivers
// forget every MAC learned from that sender.
//
// grp=GROUP sets the last three bytes of the group address to the group's
// id and makes it the default VNI; vni accepts a number or a group name.
//
// Unlike vdeplug 4.0.1, the port socket also receives unicast datagrams
// sent to this host's address at the port (the original binds it to the
// group address and never sees them), and frames learned from such a
// sender are answered at that port: a Linux vxlan device with dstport
// 14789 pointed at a member works. See COMPATIBILITY.md.
package vxvde

import (
	"net/netip"

	"github.com/govde/govde/transports/internal/vxnet"
)

// Module is the VNL module name.
const Module = "vxvde"

// DefaultPort is vxvde's multicast port.
const DefaultPort = 14789

// DefaultVNI is the network identifier used without vni or grp options.
const DefaultVNI = 1

// Keys are the slash options in vdeplug's order (an abbreviation matches
// the first key it prefixes).
var Keys = []string{"port", "vni", "grp", "ttl", "rcvbuf", "v6", "v4", "hashsize", "expiretime", "if", "bind"}

// Config is an endpoint's configuration. ParseVNL fills it from a VNL.
type Config struct {
	vxnet.Common
	// VNI is the network identifier (24 bits).
	VNI uint32
	// MaxFrame is the largest frame carried; 0 means as large as UDP
	// allows over the group's family (vxnet.UDPMaxFrame).
	MaxFrame int
	// Logf receives rate-limited send errors; nil means log.Printf.
	Logf func(format string, args ...any)
}

// ParseVNL parses the argument of a vxvde:// VNL (the text after "://").
// Errors name the offending option.
func ParseVNL(arg string) (Config, error) {
	addr, opts, err := vxnet.ParseOptions(Module, arg, Keys)
	if err != nil {
		return Config{}, err
	}
	c, err := vxnet.ParseCommon(Module, addr, opts, DefaultPort, 1)
	if err != nil {
		return Config{}, err
	}
	cfg := Config{Common: c, VNI: DefaultVNI}
	if s, ok := opts.Last("grp"); ok {
		gid, err := vxnet.GroupID(Module, "grp", s)
		if err != nil {
			return Config{}, err
		}
		b := cfg.Addr.AsSlice()
		n := len(b)
		b[n-3], b[n-2], b[n-1] = byte(gid>>16), byte(gid>>8), byte(gid)
		cfg.Addr, _ = netip.AddrFromSlice(b)
		cfg.VNI = gid & vxnet.MaxVNI
	}
	if s, ok := opts.Last("vni"); ok {
		v, err := vxnet.GroupID(Module, "vni", s)
		if err != nil {
			return Config{}, err
		}
		if v > vxnet.MaxVNI {
			return Config{}, &vxnet.OptionError{Module: Module, Key: "vni", Value: s, Problem: "a VNI has 24 bits (at most 16777215)"}
		}
		cfg.VNI = v
	}
	if !cfg.Addr.IsMulticast() {
		return Config{}, &vxnet.OptionError{Module: Module, Problem: cfg.Addr.String() + " is not a multicast group address"}
	}
	return cfg, nil
}

// Group returns the multicast group at the port.
func (c Config) Group() vxnet.Peer {
	return vxnet.PeerOf(c.Addr, c.Port, c.Scope())
}
