package vxnet

import (
	"net/netip"
	"strconv"
)

// Peer is a UDP endpoint: an IP address, a port and, for IPv6 scoped
// addresses, the interface index. It is a plain comparable value (no
// pointers), so tables of peers cost the garbage collector nothing.
type Peer struct {
	// Addr is the IPv6 address, or the IPv4-mapped form of an IPv4 one.
	Addr [16]byte
	// Port is the UDP port.
	Port uint16
	// Scope is the IPv6 scope (interface index) for link-local addresses.
	Scope uint32
}

// PeerOf returns the peer for an address, a port and a scope (0 = none).
func PeerOf(a netip.Addr, port uint16, scope uint32) Peer {
	return Peer{Addr: a.As16(), Port: port, Scope: scope}
}

// Is4 reports whether the peer has an IPv4 (IPv4-mapped) address.
func (p Peer) Is4() bool { return netip.AddrFrom16(p.Addr).Is4In6() }

// IP returns the address, unmapped for IPv4.
func (p Peer) IP() netip.Addr { return netip.AddrFrom16(p.Addr).Unmap() }

// AddrPort returns the address (unmapped for IPv4) and port.
func (p Peer) AddrPort() netip.AddrPort { return netip.AddrPortFrom(p.IP(), p.Port) }

// IsMulticast reports whether the address is a multicast group.
func (p Peer) IsMulticast() bool { return p.IP().IsMulticast() }

// String formats the peer as "1.2.3.4:5" or "[fe80::1%2]:5".
func (p Peer) String() string {
	ip := p.IP()
	if ip.Is4() {
		return ip.String() + ":" + strconv.Itoa(int(p.Port))
	}
	s := ip.String()
	if p.Scope != 0 {
		s += "%" + strconv.Itoa(int(p.Scope))
	}
	return "[" + s + "]:" + strconv.Itoa(int(p.Port))
}
