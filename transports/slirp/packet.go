package slirp

import (
	"encoding/binary"
	"net/netip"

	"github.com/govde/govde/frames"
)

// Frames the router builds itself (router advertisements, DHCPv6
// replies, ICMP echo replies of the NAT) rather than through the stack.

const (
	ethHdrLen  = 14
	ip6HdrLen  = 40
	protoICMP  = 1
	protoUDP   = 17
	protoICMP6 = 58
)

// checksumAdd adds b to a one's-complement running sum.
func checksumAdd(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

// checksumFold folds a running sum into the Internet checksum.
func checksumFold(sum uint32) uint16 {
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// checksum6 is the transport checksum of payload over IPv6 (RFC 8200
// 8.1 pseudo-header) with the checksum field zeroed.
func checksum6(src, dst netip.Addr, proto byte, payload []byte) uint16 {
	s, d := src.As16(), dst.As16()
	sum := checksumAdd(0, s[:])
	sum = checksumAdd(sum, d[:])
	sum += uint32(len(payload)>>16) + uint32(len(payload)&0xffff) + uint32(proto)
	return checksumFold(checksumAdd(sum, payload))
}

// putEthHdr writes the Ethernet header of a frame from srcMAC to dstMAC
// with EtherType etype at the start of p.
func putEthHdr(p, dstMAC, srcMAC []byte, etype uint16) {
	copy(p[0:6], dstMAC)
	copy(p[6:12], srcMAC)
	binary.BigEndian.PutUint16(p[12:14], etype)
}

// frame6 builds an Ethernet frame carrying an IPv6 packet from src to dst
// with payload (whose checksum, at csumOff, it fills in).
func frame6(dstMAC, srcMAC []byte, src, dst netip.Addr, proto, hops byte, payload []byte, csumOff int) *frames.Buf {
	n := ethHdrLen + ip6HdrLen + len(payload)
	f := frames.Get(n)
	p := f.Space()[:n]
	putEthHdr(p, dstMAC, srcMAC, 0x86dd)
	ip := p[ethHdrLen:]
	binary.BigEndian.PutUint32(ip[0:4], 6<<28)
	binary.BigEndian.PutUint16(ip[4:6], uint16(len(payload)))
	ip[6], ip[7] = proto, hops
	s, d := src.As16(), dst.As16()
	copy(ip[8:24], s[:])
	copy(ip[24:40], d[:])
	body := ip[ip6HdrLen:]
	copy(body, payload)
	body[csumOff], body[csumOff+1] = 0, 0
	binary.BigEndian.PutUint16(body[csumOff:], checksum6(src, dst, proto, body))
	f.SetLen(n)
	return f
}

// frame4 builds an Ethernet frame carrying an IPv4 packet from src to dst
// with payload (whose checksum, at csumOff, it fills in over the payload
// alone, as ICMP has it).
func frame4(dstMAC, srcMAC []byte, src, dst netip.Addr, proto byte, payload []byte, csumOff int) *frames.Buf {
	n := ethHdrLen + ipHdrLen + len(payload)
	f := frames.Get(n)
	p := f.Space()[:n]
	putEthHdr(p, dstMAC, srcMAC, 0x0800)
	ip := p[ethHdrLen:]
	clear(ip[:ipHdrLen])
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:4], uint16(ipHdrLen+len(payload)))
	ip[8], ip[9] = 64, proto
	s, d := src.As4(), dst.As4()
	copy(ip[12:16], s[:])
	copy(ip[16:20], d[:])
	binary.BigEndian.PutUint16(ip[10:12], ipChecksum(ip[:ipHdrLen]))
	body := ip[ipHdrLen:]
	copy(body, payload)
	body[csumOff], body[csumOff+1] = 0, 0
	binary.BigEndian.PutUint16(body[csumOff:], checksumFold(checksumAdd(0, body)))
	f.SetLen(n)
	return f
}

// multicastMAC6 is the Ethernet address of an IPv6 multicast group.
func multicastMAC6(a netip.Addr) []byte {
	b := a.As16()
	return []byte{0x33, 0x33, b[12], b[13], b[14], b[15]}
}
