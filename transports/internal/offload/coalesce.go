package offload

import (
	"bytes"
	"encoding/binary"
)

// Seg describes a frame that may be coalesced: an untagged Ethernet frame
// carrying TCP over IPv4 (no IP options, not a fragment) or IPv6 (no
// extension headers), with payload, ACK set and no flag other than PSH,
// and correct IPv4 header and TCP checksums.
type Seg struct {
	v6    bool
	hl    int // Ethernet + IP + TCP headers
	end   int // end of the IP packet (the frame may be padded)
	seq   uint32
	flags byte
}

// Payload returns the TCP payload of the frame s describes.
func (s *Seg) Payload(f []byte) []byte { return f[s.hl:s.end] }

// Len returns the payload length.
func (s *Seg) Len() int { return s.end - s.hl }

// ParseSeg reports whether frame f may be coalesced, and fills s.
func ParseSeg(f []byte, s *Seg) bool {
	if len(f) < ethLen+20 {
		return false
	}
	var l4, end int
	switch binary.BigEndian.Uint16(f[12:]) {
	case typeIPv4:
		ip := f[ethLen:]
		if ip[0] != 0x45 || ip[9] != protoTCP || binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 {
			return false // options, not TCP, or a fragment
		}
		end = ethLen + int(binary.BigEndian.Uint16(ip[2:]))
		l4 = ethLen + 20
		if end > len(f) || end < l4+20 || Fold(Sum(ip[:20], 0)) != 0xffff {
			return false
		}
	case typeIPv6:
		if len(f) < ethLen+40 {
			return false
		}
		ip := f[ethLen:]
		if ip[0]>>4 != 6 || ip[6] != protoTCP {
			return false
		}
		l4 = ethLen + 40
		end = l4 + int(binary.BigEndian.Uint16(ip[4:]))
		if end > len(f) || end < l4+20 {
			return false
		}
	default:
		return false
	}
	tcp := f[l4:end]
	thl := int(tcp[12]>>4) * 4
	fl := tcp[13]
	if thl < 20 || l4+thl >= end || fl&^tcpPSH != tcpACK {
		return false // no payload, or SYN, FIN, RST, URG, ECE, CWR
	}
	v6 := binary.BigEndian.Uint16(f[12:]) == typeIPv6
	if Fold(Sum(tcp, pseudo(f[ethLen:], v6, protoTCP, end-l4))) != 0xffff {
		return false // corrupted: let the kernel see (and drop) it as it is
	}
	*s = Seg{v6: v6, hl: l4 + thl, end: end, seq: binary.BigEndian.Uint32(tcp[4:]), flags: fl}
	return true
}

// MaxSegs is the most segments one super-packet gathers.
const MaxSegs = 64

// Coalescer gathers consecutive segments of one TCP flow into a
// super-packet: same Ethernet header, same IP header but for the lengths,
// ID and checksum, same ports, ACK number, window and options (timestamps
// included: segments with different ones stay apart, as the kernel's GRO
// does), consecutive sequence numbers, every segment but the last one the
// size of the first, PSH only on the last, at most 65535 bytes of IP packet.
type Coalescer struct {
	first []byte
	fs    Seg
	n     int    // segments
	total int    // payload bytes
	next  uint32 // sequence number the next segment must have
	psh   bool   // the last segment had PSH: nothing may follow
	short bool   // the last segment was shorter than the first: nothing may follow
}

// Start begins a group with the frame f (ParseSeg(f, s) was true).
func (c *Coalescer) Start(f []byte, s *Seg) {
	*c = Coalescer{first: f, fs: *s, n: 1, total: s.Len(), next: s.seq + uint32(s.Len()), psh: s.flags&tcpPSH != 0}
}

// N returns the number of segments gathered.
func (c *Coalescer) N() int { return c.n }

// Add appends the segment g (ParseSeg(g, s) was true) if it continues the
// group, and reports whether it did.
func (c *Coalescer) Add(g []byte, s *Seg) bool {
	f, fs := c.first, &c.fs
	if c.n >= MaxSegs || c.psh || c.short || s.v6 != fs.v6 || s.hl != fs.hl || s.seq != c.next {
		return false
	}
	plen := s.Len()
	if plen > fs.Len() || fs.hl-ethLen+c.total+plen > 0xffff {
		return false
	}
	// Ethernet header; IP header without lengths, ID and checksum.
	if !bytes.Equal(f[:ethLen], g[:ethLen]) {
		return false
	}
	fi, gi := f[ethLen:], g[ethLen:]
	var l4 int
	if fs.v6 {
		if !bytes.Equal(fi[:4], gi[:4]) || !bytes.Equal(fi[6:40], gi[6:40]) {
			return false
		}
		l4 = ethLen + 40
	} else {
		if fi[1] != gi[1] || !bytes.Equal(fi[6:10], gi[6:10]) || !bytes.Equal(fi[12:20], gi[12:20]) {
			return false
		}
		l4 = ethLen + 20
	}
	ft, gt := f[l4:fs.hl], g[l4:s.hl]
	// Ports; then ACK number, data offset; flags but PSH; window; then
	// urgent pointer and options (the checksum at 16 and seq at 4 differ).
	if !bytes.Equal(ft[:4], gt[:4]) || !bytes.Equal(ft[8:13], gt[8:13]) || ft[13]&^tcpPSH != gt[13]&^tcpPSH ||
		!bytes.Equal(ft[14:16], gt[14:16]) || !bytes.Equal(ft[18:], gt[18:]) {
		return false
	}
	c.n++
	c.total += plen
	c.next += uint32(plen)
	c.psh = s.flags&tcpPSH != 0
	c.short = plen < fs.Len()
	return true
}

// Header writes the super-packet's virtio-net header into vh (HdrLen
// bytes) and its Ethernet, IP and TCP headers into hdr (at least
// HeaderLen bytes), and returns the headers' length. The payloads of the
// segments, in order, follow the headers. With one segment it writes an
// empty virtio-net header and returns 0: the frame goes as it is.
func (c *Coalescer) Header(vh, hdr []byte) int {
	if c.n == 1 {
		(&Hdr{}).Encode(vh)
		return 0
	}
	fs := &c.fs
	h := hdr[:fs.hl]
	copy(h, c.first[:fs.hl])
	ip := h[ethLen:]
	var l4 int
	gso := uint8(GSOTCPv4)
	if fs.v6 {
		l4 = ethLen + 40
		binary.BigEndian.PutUint16(ip[4:], uint16(fs.hl-l4+c.total))
		gso = GSOTCPv6
	} else {
		l4 = ethLen + 20
		binary.BigEndian.PutUint16(ip[2:], uint16(fs.hl-ethLen+c.total))
		ipv4HdrCsum(ip[:20])
	}
	tcp := h[l4:]
	if c.psh {
		tcp[13] |= tcpPSH
	}
	// CHECKSUM_PARTIAL: the field holds the pseudo-header sum, the kernel
	// (or whoever segments the packet) completes it.
	binary.BigEndian.PutUint16(tcp[tcpCsumAt:], Fold(pseudo(ip, fs.v6, protoTCP, fs.hl-l4+c.total)))
	(&Hdr{
		Flags: FlagNeedsCsum, GSOType: gso, HdrLen: uint16(fs.hl), GSOSize: uint16(fs.Len()),
		CsumStart: uint16(l4), CsumOffset: tcpCsumAt,
	}).Encode(vh)
	return fs.hl
}

// HeaderLen is the most header bytes Header writes: Ethernet, IPv6 and a
// TCP header with 40 bytes of options.
const HeaderLen = ethLen + 40 + 60

// End returns the end of the IP packet in the frame (the frame may be
// padded beyond it).
func (s *Seg) End() int { return s.end }
