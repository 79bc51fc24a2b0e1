package offload

import "encoding/binary"

// Segmenter cuts one TCP super-packet (GSO_TCPV4 or GSO_TCPV6) into
// segments of at most gso_size bytes of payload, each a complete Ethernet
// frame: the headers copied, the IPv4 total length, ID and header checksum
// or the IPv6 payload length fixed, the TCP sequence number advanced, FIN
// and PSH only on the last segment, CWR only on the first, and the TCP
// checksum computed over each segment. It keeps its position, so the
// segments can be taken over several batches; it refers to the packet's
// memory until the last segment is taken (or Reset).
type Segmenter struct {
	pkt   []byte
	v6    bool
	l3    int // offset of the IP header
	l4    int // offset of the TCP header
	hl    int // l4 + TCP header length: the headers every segment repeats
	mss   int
	off   int // offset of the next segment's payload; == len(pkt) when done
	seq   uint32
	id    uint16
	first bool
	flags byte // TCP flags of the super-packet
}

// Start prepares the segmentation of pkt, described by h (whose GSOType
// is not GSONone). pkt must stay unchanged until Pending is false. On error
// nothing is pending.
func (s *Segmenter) Start(h *Hdr, pkt []byte) error {
	s.Reset()
	var v6 bool
	switch h.GSOType &^ GSOECN {
	case GSOTCPv4:
	case GSOTCPv6:
		v6 = true
	default:
		return ErrGSOType
	}
	if h.GSOSize == 0 {
		return ErrGSOSize
	}
	etype, l3, ok := l3(pkt)
	if !ok {
		return ErrShort
	}
	var l4 int
	if v6 {
		if etype != typeIPv6 {
			return ErrGSOProto
		}
		if len(pkt) < l3+40 {
			return ErrShort
		}
		if pkt[l3]>>4 != 6 || pkt[l3+6] != protoTCP {
			return ErrGSOProto
		}
		l4 = l3 + 40
	} else {
		if etype != typeIPv4 {
			return ErrGSOProto
		}
		if len(pkt) < l3+20 {
			return ErrShort
		}
		ihl := int(pkt[l3]&0x0f) * 4
		if pkt[l3]>>4 != 4 || ihl < 20 || pkt[l3+9] != protoTCP {
			return ErrGSOProto
		}
		l4 = l3 + ihl
	}
	if len(pkt) < l4+20 {
		return ErrShort
	}
	thl := int(pkt[l4+12]>>4) * 4
	if thl < 20 {
		return ErrGSOProto
	}
	if len(pkt) < l4+thl {
		return ErrShort
	}
	// An IP packet is at most 65535 bytes (plus the IPv6 header): what
	// the lengths can say.
	if v6 && len(pkt)-l4 > 0xffff || !v6 && len(pkt)-l3 > 0xffff {
		return ErrGSOProto
	}
	*s = Segmenter{
		pkt: pkt, v6: v6, l3: l3, l4: l4, hl: l4 + thl, mss: int(h.GSOSize),
		off: l4 + thl, seq: binary.BigEndian.Uint32(pkt[l4+4:]), first: true,
		flags: pkt[l4+13],
	}
	if !v6 {
		s.id = binary.BigEndian.Uint16(pkt[l3+4:])
	}
	if s.off == len(pkt) {
		s.mss = 0 // headers only: one segment without payload
	}
	return nil
}

// Reset forgets the packet.
func (s *Segmenter) Reset() { *s = Segmenter{} }

// Pending reports whether segments are left.
func (s *Segmenter) Pending() bool { return s.pkt != nil }

// NextLen is the length of the next segment (0 when none is pending).
func (s *Segmenter) NextLen() int {
	if s.pkt == nil {
		return 0
	}
	if s.mss == 0 {
		return s.hl
	}
	return s.hl + min(s.mss, len(s.pkt)-s.off)
}

// Next writes the next segment into dst (at least NextLen bytes) and
// returns its length.
func (s *Segmenter) Next(dst []byte) int {
	if s.pkt == nil {
		return 0
	}
	pkt, hl := s.pkt, s.hl
	var plen int
	if s.mss > 0 {
		plen = min(s.mss, len(pkt)-s.off)
	}
	last := s.mss == 0 || s.off+plen == len(pkt)
	n := hl + plen
	d := dst[:n]
	copy(d, pkt[:hl])
	copy(d[hl:], pkt[s.off:s.off+plen])
	ip, tcp := d[s.l3:], d[s.l4:]
	if s.v6 {
		binary.BigEndian.PutUint16(ip[4:], uint16(n-s.l4))
	} else {
		binary.BigEndian.PutUint16(ip[2:], uint16(n-s.l3))
		binary.BigEndian.PutUint16(ip[4:], s.id)
		ipv4HdrCsum(ip[:s.l4-s.l3])
		s.id++
	}
	binary.BigEndian.PutUint32(tcp[4:], s.seq)
	f := s.flags
	if !last {
		f &^= tcpFIN | tcpPSH
	}
	if !s.first {
		f &^= tcpCWR
	}
	tcp[13] = f
	tcp[tcpCsumAt], tcp[tcpCsumAt+1] = 0, 0
	c := ^Fold(Sum(tcp, pseudo(ip, s.v6, protoTCP, n-s.l4)))
	binary.BigEndian.PutUint16(tcp[tcpCsumAt:], c)
	s.seq += uint32(plen)
	s.first = false
	if last {
		s.Reset()
	} else {
		s.off += plen
	}
	return n
}
