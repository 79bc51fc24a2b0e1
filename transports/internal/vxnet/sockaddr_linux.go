package vxnet

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Raw socket addresses in the per-message arrays of Receiver and Sender:
// one unix.RawSockaddrInet6 per message, viewed as a RawSockaddrInet4 on
// AF_INET sockets. Ports are stored in network byte order.

// putSockaddr writes p into name for a socket of the given family and
// returns the address length.
func putSockaddr(name *unix.RawSockaddrInet6, p Peer, v6 bool) uint32 {
	if !v6 {
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(name))
		sa.Family = unix.AF_INET
		pp := (*[2]byte)(unsafe.Pointer(&sa.Port))
		pp[0], pp[1] = byte(p.Port>>8), byte(p.Port)
		copy(sa.Addr[:], p.Addr[12:])
		sa.Zero = [8]uint8{}
		return unix.SizeofSockaddrInet4
	}
	name.Family = unix.AF_INET6
	pp := (*[2]byte)(unsafe.Pointer(&name.Port))
	pp[0], pp[1] = byte(p.Port>>8), byte(p.Port)
	name.Flowinfo = 0
	name.Addr = p.Addr
	name.Scope_id = p.Scope
	return unix.SizeofSockaddrInet6
}

// peerFrom reads the sender address the kernel wrote into name.
func peerFrom(name *unix.RawSockaddrInet6) Peer {
	var p Peer
	switch name.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(name))
		pp := (*[2]byte)(unsafe.Pointer(&sa.Port))
		p.Port = uint16(pp[0])<<8 | uint16(pp[1])
		p.Addr[10], p.Addr[11] = 0xff, 0xff
		copy(p.Addr[12:], sa.Addr[:])
	case unix.AF_INET6:
		pp := (*[2]byte)(unsafe.Pointer(&name.Port))
		p.Port = uint16(pp[0])<<8 | uint16(pp[1])
		p.Addr = name.Addr
		if name.Addr[0] == 0xfe && name.Addr[1]&0xc0 == 0x80 {
			p.Scope = name.Scope_id
		}
	}
	return p
}

// cmsgHdrLen is sizeof(struct cmsghdr) aligned: where a message's data
// starts.
const cmsgHdrLen = unix.SizeofCmsghdr

// dstInfo is what the packet-info control message says about a datagram.
type dstInfo struct {
	ok      bool
	addr    [16]byte // destination address (IPv4-mapped for IPv4)
	specDst [4]byte  // IPv4: the local address the datagram arrived on
	ifindex int32
}

// parsePktinfo looks for IP_PKTINFO / IPV6_PKTINFO in a control buffer of
// n bytes without allocating.
func parsePktinfo(ctrl []byte, n int, out *dstInfo) {
	out.ok = false
	if n > len(ctrl) {
		n = len(ctrl)
	}
	for off := 0; off+cmsgHdrLen <= n; {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&ctrl[off]))
		l := int(h.Len)
		if l < cmsgHdrLen || off+l > n {
			return
		}
		data := ctrl[off+cmsgHdrLen : off+l]
		switch {
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo:
			pi := (*unix.Inet4Pktinfo)(unsafe.Pointer(&data[0]))
			out.ok = true
			out.ifindex = pi.Ifindex
			out.specDst = pi.Spec_dst
			out.addr = [16]byte{10: 0xff, 11: 0xff}
			copy(out.addr[12:], pi.Addr[:])
			return
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_PKTINFO && len(data) >= unix.SizeofInet6Pktinfo:
			pi := (*unix.Inet6Pktinfo)(unsafe.Pointer(&data[0]))
			out.ok = true
			out.ifindex = int32(pi.Ifindex)
			out.addr = pi.Addr
			return
		}
		off += cmsgAlign(l)
	}
}

func cmsgAlign(n int) int { return (n + unix.SizeofPtr - 1) &^ (unix.SizeofPtr - 1) }
