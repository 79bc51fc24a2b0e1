package cryptcab

import (
	"encoding/binary"
	"net/netip"

	"golang.org/x/sys/unix"
)

// rawName is a socket address as the kernel reads and writes it: a
// sockaddr_in or a sockaddr_in6 (the larger, 28 bytes). Received names
// are compared and stored in this form so that the data path never
// converts addresses.
type rawName struct {
	b [unix.SizeofSockaddrInet6]byte
	n uint32 // length in use
}

func (r *rawName) family() uint16 { return binary.NativeEndian.Uint16(r.b[0:2]) }

// same reports whether two names are the same address and port (IPv6
// flow information and scope are ignored).
func (r *rawName) same(o *rawName) bool {
	f := r.family()
	if f != o.family() || r.b[2] != o.b[2] || r.b[3] != o.b[3] {
		return false
	}
	switch f {
	case unix.AF_INET:
		return [4]byte(r.b[4:8]) == [4]byte(o.b[4:8])
	case unix.AF_INET6:
		return [16]byte(r.b[8:24]) == [16]byte(o.b[8:24])
	}
	return false
}

// addrPort converts the name for logs and control packets.
func (r *rawName) addrPort() netip.AddrPort {
	port := binary.BigEndian.Uint16(r.b[2:4])
	switch r.family() {
	case unix.AF_INET:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(r.b[4:8])), port)
	case unix.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16([16]byte(r.b[8:24])).Unmap(), port)
	}
	return netip.AddrPort{}
}

// nameOf encodes ap for a socket of the given family (an IPv4 address on
// an IPv6 socket becomes v4-mapped).
func nameOf(ap netip.AddrPort, v6 bool) rawName {
	var r rawName
	a := ap.Addr()
	if v6 {
		binary.NativeEndian.PutUint16(r.b[0:2], unix.AF_INET6)
		binary.BigEndian.PutUint16(r.b[2:4], ap.Port())
		b := a.As16()
		copy(r.b[8:24], b[:])
		r.n = unix.SizeofSockaddrInet6
		return r
	}
	binary.NativeEndian.PutUint16(r.b[0:2], unix.AF_INET)
	binary.BigEndian.PutUint16(r.b[2:4], ap.Port())
	b := a.Unmap().As4()
	copy(r.b[4:8], b[:])
	r.n = unix.SizeofSockaddrInet4
	return r
}
