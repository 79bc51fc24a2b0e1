package vxnet

import (
	"math"
	"net/netip"

	"github.com/govde/govde/transports/vnl"
)

// Default group addresses of vxlan:// and vxvde:// (IPv4, and IPv6 when the
// v6 option is given).
var (
	DefaultGroup4 = netip.MustParseAddr("239.0.0.1")
	DefaultGroup6 = netip.MustParseAddr("ff05:56de::1")
)

// Defaults both modules share.
const (
	DefaultTTL      = 1
	DefaultHashSize = 1024
	DefaultExpire   = 128 // seconds
)

// Common holds the options vxlan and vxvde share, parsed and checked.
type Common struct {
	// Addr is the group (or, for vxlan, a unicast peer), resolved.
	Addr netip.Addr
	// Port is the UDP port.
	Port uint16
	// TTL is the multicast (and, for vxvde, unicast) TTL / hop limit.
	TTL int
	// RcvBuf is SO_RCVBUF in bytes, 0 = the kernel default.
	RcvBuf int
	// HashSize is the MAC table size (0 = no table: everything to Addr).
	HashSize int
	// Expire is how long a learned MAC stays valid, in seconds.
	Expire int64
	// IfName and IfIndex are the interface for joining the group and for
	// outgoing multicast ("" and 0: the kernel's choice).
	IfName  string
	IfIndex int
	// Bind is the local address of the sending socket (invalid = any).
	Bind netip.Addr
}

// ParseCommon checks the shared options of a parsed vx VNL: addr is the
// VNL's address part, opts its options (keys port, ttl, rcvbuf, v4, v6,
// hashsize, expiretime, if, bind; others are the caller's). Errors are
// *OptionError values naming the option.
func ParseCommon(module, addr string, opts vnl.Options, defPort uint16, minTTL int) (Common, error) {
	c := Common{Port: defPort, TTL: DefaultTTL, HashSize: DefaultHashSize, Expire: DefaultExpire}
	fam := FamilyOf(opts.Has("v4"), opts.Has("v6"))
	if addr == "" {
		c.Addr = DefaultGroup4
		if opts.Has("v6") {
			c.Addr = DefaultGroup6
		}
		if !familyOK(c.Addr, fam) {
			return c, &OptionError{Module: module, Problem: "no default address for the chosen family"}
		}
	} else {
		a, err := Resolve(module, addr, fam)
		if err != nil {
			return c, err
		}
		c.Addr = a
	}
	if s, ok := opts.Last("port"); ok {
		p, err := ParsePort(module, "port", s)
		if err != nil {
			return c, err
		}
		c.Port = p
	}
	if s, ok := opts.Last("ttl"); ok {
		v, err := ParseUint(module, "ttl", s, uint64(minTTL), 255)
		if err != nil {
			return c, err
		}
		c.TTL = int(v)
	}
	if s, ok := opts.Last("rcvbuf"); ok {
		v, err := ParseSize(module, "rcvbuf", s, math.MaxInt32)
		if err != nil {
			return c, err
		}
		c.RcvBuf = int(v)
	}
	if s, ok := opts.Last("hashsize"); ok {
		v, err := ParseUint(module, "hashsize", s, 0, 1<<24)
		if err != nil {
			return c, err
		}
		c.HashSize = int(v)
	}
	if s, ok := opts.Last("expiretime"); ok {
		v, err := ParseUint(module, "expiretime", s, 0, math.MaxInt32)
		if err != nil {
			return c, err
		}
		if v > 0 { // vdeplug: 0 means the default
			c.Expire = int64(v)
		}
	}
	if s, ok := opts.Last("if"); ok {
		i, err := InterfaceIndex(module, s)
		if err != nil {
			return c, err
		}
		c.IfName, c.IfIndex = s, i
	}
	if s, ok := opts.Last("bind"); ok && s != "" {
		bfam := V4
		if c.Addr.Is6() {
			bfam = V6
		}
		a, err := Resolve(module, s, bfam)
		if err != nil {
			return c, &OptionError{Module: module, Key: "bind", Value: s, Problem: err.(*OptionError).Problem}
		}
		c.Bind = a
	}
	return c, nil
}

// Scope returns the IPv6 scope to use with c.Addr: the interface index
// for link-local groups and peers, else 0.
func (c Common) Scope() uint32 {
	if c.Addr.IsLinkLocalMulticast() || c.Addr.IsLinkLocalUnicast() || c.Addr.IsInterfaceLocalMulticast() {
		return uint32(c.IfIndex)
	}
	return 0
}

// MaxFrame returns the largest frame for want (0 = as large as UDP allows
// over c.Addr's family), clamped to that limit.
func (c Common) MaxFrame(want int) int {
	lim := UDPMaxFrame(c.Addr.Is6())
	if want <= 0 || want > lim {
		return lim
	}
	return want
}
