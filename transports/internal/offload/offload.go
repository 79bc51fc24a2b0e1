// Package offload implements the packet work behind a tap opened with
// IFF_VNET_HDR and TUN_F_CSUM|TUN_F_TSO4|TUN_F_TSO6|TUN_F_TSO_ECN: the
// virtio-net header in front of every packet, the segmentation of the TCP
// super-packets (GSO) the kernel hands over into ordinary Ethernet frames,
// the completion of checksums the kernel left partial, and the coalescing
// of consecutive TCP segments of one flow into one super-packet for the
// kernel (GRO in spirit). Nothing here touches a file descriptor: the
// functions work on byte slices and are tested on hand-built packets.
//
// The frames that come out of a Segmenter, and the frames a Coalescer
// merges, are ordinary frames of at most MTU + 14 bytes: what crosses the
// VDE wire does not change.
package offload

import (
	"encoding/binary"
	"errors"
	"math/bits"
)

// HdrLen is the size of the virtio-net header govde asks for
// (TUNSETVNETHDRSZ): struct virtio_net_hdr_v1 with num_buffers, 12 bytes.
const HdrLen = 12

// virtio-net header values (linux/virtio_net.h).
const (
	FlagNeedsCsum = 1 // csum_start/csum_offset say where a partial checksum is to be completed
	FlagDataValid = 2 // the checksums are known good

	GSONone  = 0
	GSOTCPv4 = 1
	GSOUDP   = 3
	GSOTCPv6 = 4
	GSOUDPL4 = 5
	GSOECN   = 0x80 // flag: the TCP stream uses ECN (CWR may be set)
)

// Hdr is a decoded virtio-net header. The tap uses the host's byte order
// (little-endian on every machine govde runs on; see Decode).
type Hdr struct {
	Flags      uint8
	GSOType    uint8
	HdrLen     uint16
	GSOSize    uint16
	CsumStart  uint16
	CsumOffset uint16
}

// Decode reads h from b (at least 10 bytes). The fields are in native byte
// order: a tap's vnet header is little-endian on little-endian hosts
// (TUNSETVNETLE only matters on big-endian ones).
func (h *Hdr) Decode(b []byte) {
	_ = b[9]
	h.Flags = b[0]
	h.GSOType = b[1]
	h.HdrLen = binary.NativeEndian.Uint16(b[2:])
	h.GSOSize = binary.NativeEndian.Uint16(b[4:])
	h.CsumStart = binary.NativeEndian.Uint16(b[6:])
	h.CsumOffset = binary.NativeEndian.Uint16(b[8:])
}

// Encode writes h into b (HdrLen bytes; num_buffers is zeroed).
func (h *Hdr) Encode(b []byte) {
	_ = b[HdrLen-1]
	b[0] = h.Flags
	b[1] = h.GSOType
	binary.NativeEndian.PutUint16(b[2:], h.HdrLen)
	binary.NativeEndian.PutUint16(b[4:], h.GSOSize)
	binary.NativeEndian.PutUint16(b[6:], h.CsumStart)
	binary.NativeEndian.PutUint16(b[8:], h.CsumOffset)
	b[10], b[11] = 0, 0
}

// Errors for packets that cannot be handled; the caller drops and counts
// them.
var (
	ErrShort    = errors.New("offload: packet shorter than its headers")
	ErrCsum     = errors.New("offload: checksum position outside the packet")
	ErrGSOType  = errors.New("offload: unsupported GSO type")
	ErrGSOProto = errors.New("offload: GSO packet is not plain TCP over IPv4/IPv6")
	ErrGSOSize  = errors.New("offload: GSO packet with gso_size 0")
)

const (
	ethLen    = 14
	typeIPv4  = 0x0800
	typeIPv6  = 0x86dd
	protoTCP  = 6
	tcpFIN    = 0x01
	tcpSYN    = 0x02
	tcpRST    = 0x04
	tcpPSH    = 0x08
	tcpACK    = 0x10
	tcpURG    = 0x20
	tcpECE    = 0x40
	tcpCWR    = 0x80
	tcpCsumAt = 16
)

// Sum adds b to the one's-complement sum acc (not folded). Pieces added one
// after the other must have even lengths, except the last.
func Sum(b []byte, acc uint64) uint64 {
	var c uint64
	for len(b) >= 32 {
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[8:]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[16:]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[24:]), c)
		b = b[32:]
	}
	for len(b) >= 8 {
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b), c)
		b = b[8:]
	}
	if len(b) >= 4 {
		acc, c = bits.Add64(acc, uint64(binary.BigEndian.Uint32(b)), c)
		b = b[4:]
	}
	if len(b) >= 2 {
		acc, c = bits.Add64(acc, uint64(binary.BigEndian.Uint16(b)), c)
		b = b[2:]
	}
	if len(b) == 1 {
		acc, c = bits.Add64(acc, uint64(b[0])<<8, c)
	}
	acc, c = bits.Add64(acc, c, 0)
	return acc + c
}

// Fold folds a one's-complement sum to 16 bits (not complemented).
func Fold(s uint64) uint16 {
	s = s>>32 + s&0xffffffff
	s = s>>32 + s&0xffffffff
	s = s>>16 + s&0xffff
	s = s>>16 + s&0xffff
	return uint16(s)
}

// pseudo returns the sum of the TCP/UDP pseudo-header of a packet whose IP
// header starts at ip (version 4 or 6), for protocol proto and an L4 length
// of l4len.
func pseudo(ip []byte, v6 bool, proto uint8, l4len int) uint64 {
	var s uint64
	if v6 {
		s = Sum(ip[8:40], 0)
	} else {
		s = Sum(ip[12:20], 0)
	}
	return s + uint64(proto) + uint64(l4len)
}

// ipv4HdrCsum recomputes the header checksum of the IPv4 header h.
func ipv4HdrCsum(h []byte) {
	h[10], h[11] = 0, 0
	binary.BigEndian.PutUint16(h[10:], ^Fold(Sum(h, 0)))
}

// l3 finds the network header: it skips the Ethernet header and up to two
// VLAN tags. It returns the EtherType and the offset of the L3 header.
func l3(pkt []byte) (etype uint16, off int, ok bool) {
	if len(pkt) < ethLen {
		return 0, 0, false
	}
	etype = binary.BigEndian.Uint16(pkt[12:])
	off = ethLen
	for i := 0; i < 2 && (etype == 0x8100 || etype == 0x88a8); i++ {
		if len(pkt) < off+4 {
			return 0, 0, false
		}
		etype = binary.BigEndian.Uint16(pkt[off+2:])
		off += 4
	}
	return etype, off, true
}

// CompleteChecksum completes the partial checksum of a packet the kernel
// sent with FlagNeedsCsum and no GSO: the field at CsumStart+CsumOffset
// holds the pseudo-header sum, and the checksum covers everything from
// CsumStart to the end (TCP or UDP over IPv4 or IPv6: the generic rule of
// CHECKSUM_PARTIAL, as skb_checksum_help applies it).
func CompleteChecksum(h *Hdr, pkt []byte) error {
	start, at := int(h.CsumStart), int(h.CsumStart)+int(h.CsumOffset)
	if start >= len(pkt) || at+2 > len(pkt) || start < ethLen {
		return ErrCsum
	}
	c := ^Fold(Sum(pkt[start:], 0))
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(pkt[at:], c)
	return nil
}
