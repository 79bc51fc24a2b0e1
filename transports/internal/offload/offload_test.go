package offload

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/govde/govde/transports/internal/offload/offloadtest"
)

type pktSpec struct {
	v6      bool
	seq     uint32
	ack     uint32
	flags   byte
	id      uint16
	opts    []byte // TCP options (multiple of 4)
	payload []byte
	sport   uint16
	win     uint16
	tos     byte
	proto   byte // 0: TCP; 17: UDP (8-byte header, payload)
}

// build makes an Ethernet frame with correct checksums (computed with
// csum16).
func build(s pktSpec) []byte {
	if s.sport == 0 {
		s.sport = 40000
	}
	if s.win == 0 {
		s.win = 500
	}
	eth := []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00}
	var l4 []byte
	proto := byte(protoTCP)
	if s.proto == 17 {
		proto = 17
		l4 = make([]byte, 8)
		binary.BigEndian.PutUint16(l4[0:], s.sport)
		binary.BigEndian.PutUint16(l4[2:], 53)
		binary.BigEndian.PutUint16(l4[4:], uint16(8+len(s.payload)))
	} else {
		l4 = make([]byte, 20+len(s.opts))
		binary.BigEndian.PutUint16(l4[0:], s.sport)
		binary.BigEndian.PutUint16(l4[2:], 5201)
		binary.BigEndian.PutUint32(l4[4:], s.seq)
		binary.BigEndian.PutUint32(l4[8:], s.ack)
		l4[12] = byte(len(l4)/4) << 4
		l4[13] = s.flags
		binary.BigEndian.PutUint16(l4[14:], s.win)
		copy(l4[20:], s.opts)
	}
	l4 = append(l4, s.payload...)
	var ip []byte
	if s.v6 {
		eth[12], eth[13] = 0x86, 0xdd
		ip = make([]byte, 40)
		ip[0] = 0x60 | s.tos>>4
		ip[1] = s.tos << 4
		binary.BigEndian.PutUint16(ip[4:], uint16(len(l4)))
		ip[6], ip[7] = proto, 64
		ip[8], ip[23] = 0xfd, 1
		ip[24], ip[39] = 0xfd, 2
	} else {
		ip = make([]byte, 20)
		ip[0], ip[1] = 0x45, s.tos
		binary.BigEndian.PutUint16(ip[2:], uint16(20+len(l4)))
		binary.BigEndian.PutUint16(ip[4:], s.id)
		ip[6] = 0x40 // DF
		ip[8], ip[9] = 64, proto
		copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
		binary.BigEndian.PutUint16(ip[10:], offloadtest.Checksum(ip))
	}
	at := 16
	if proto == 17 {
		at = 6
	}
	binary.BigEndian.PutUint16(l4[at:], offloadtest.Checksum(offloadtest.PseudoHeader(ip, s.v6, proto, len(l4)), l4))
	return append(append(eth, ip...), l4...)
}

// verify checks a frame's IPv4 header and TCP checksums independently and
// returns the IP and TCP header offsets.
func verify(t *testing.T, f []byte) (l3, l4 int) {
	t.Helper()
	v6 := f[12] == 0x86
	l3 = 14
	var end int
	if v6 {
		l4 = l3 + 40
		end = l4 + int(binary.BigEndian.Uint16(f[l3+4:]))
	} else {
		l4 = l3 + int(f[l3]&15)*4
		end = l3 + int(binary.BigEndian.Uint16(f[l3+2:]))
		if offloadtest.Checksum(f[l3:l4]) != 0 {
			t.Fatalf("bad IPv4 header checksum")
		}
	}
	if end != len(f) {
		t.Fatalf("IP length says %d, frame has %d", end-14, len(f)-14)
	}
	if c := offloadtest.Checksum(offloadtest.PseudoHeader(f[l3:], v6, protoTCP, end-l4), f[l4:end]); c != 0 {
		t.Fatalf("bad TCP checksum (%#x)", c)
	}
	return l3, l4
}

func payload(n int, seed byte) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = seed + byte(i*13) + byte(i>>8)
	}
	return p
}

// super builds a GSO super-packet as the kernel hands it over: lengths for
// the whole packet, the TCP checksum field holding the pseudo-header sum
// (CHECKSUM_PARTIAL), and its virtio-net header.
func super(s pktSpec, mss int) (Hdr, []byte) {
	p := build(s)
	_, l3, _ := l3(p)
	l4 := l3 + 20
	gso := uint8(GSOTCPv4)
	if s.v6 {
		l4, gso = l3+40, GSOTCPv6
	}
	binary.BigEndian.PutUint16(p[l4+16:], Fold(pseudo(p[l3:], s.v6, protoTCP, len(p)-l4)))
	return Hdr{Flags: FlagNeedsCsum, GSOType: gso | GSOECN, HdrLen: uint16(l4 + 20 + len(s.opts)), GSOSize: uint16(mss),
		CsumStart: uint16(l4), CsumOffset: 16}, p
}

func segmentAll(t *testing.T, h Hdr, p []byte) [][]byte {
	t.Helper()
	var s Segmenter
	if err := s.Start(&h, p); err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for s.Pending() {
		buf := make([]byte, s.NextLen())
		n := s.Next(buf)
		if n != len(buf) {
			t.Fatalf("segment of %d bytes, NextLen said %d", n, len(buf))
		}
		out = append(out, buf)
	}
	return out
}

func TestSegment(t *testing.T) {
	ts := []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2} // NOP NOP timestamps
	for _, v6 := range []bool{false, true} {
		mss := 1448 // MTU 1500, TCP timestamps
		if v6 {
			mss = 1428
		}
		for _, n := range []int{1, mss, mss + 1, 10000, 65535 - 20 - 32 - 40} {
			data := payload(n, 3)
			h, p := super(pktSpec{v6: v6, seq: 0xfffff000, ack: 77, id: 0xfffe, flags: tcpACK | tcpPSH | tcpFIN | tcpCWR, opts: ts, payload: data}, mss)
			segs := segmentAll(t, h, p)
			if want := (n + mss - 1) / mss; len(segs) != want {
				t.Fatalf("v6 %v, %d bytes: %d segments, want %d", v6, n, len(segs), want)
			}
			var got []byte
			seq := uint32(0xfffff000)
			for i, f := range segs {
				l3, l4 := verify(t, f)
				if len(f) > 1514 {
					t.Fatalf("segment of %d bytes", len(f))
				}
				if !v6 {
					if id := binary.BigEndian.Uint16(f[l3+4:]); id != uint16(0xfffe+i) {
						t.Fatalf("segment %d: IPv4 ID %#x", i, id)
					}
				}
				if s := binary.BigEndian.Uint32(f[l4+4:]); s != seq {
					t.Fatalf("segment %d: seq %#x, want %#x", i, s, seq)
				}
				if a := binary.BigEndian.Uint32(f[l4+8:]); a != 77 {
					t.Fatalf("segment %d: ack %d", i, a)
				}
				fl := f[l4+13]
				last := i == len(segs)-1
				if (fl&tcpFIN != 0) != last || (fl&tcpPSH != 0) != last || (fl&tcpCWR != 0) != (i == 0) || fl&tcpACK == 0 {
					t.Fatalf("segment %d of %d: flags %#x", i, len(segs), fl)
				}
				if !bytes.Equal(f[l4+20:l4+32], ts) {
					t.Fatalf("segment %d: options changed", i)
				}
				pl := f[l4+32:]
				seq += uint32(len(pl))
				got = append(got, pl...)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("v6 %v, %d bytes: payload differs", v6, n)
			}
		}
	}
}

// A super-packet with headers only makes one frame.
func TestSegmentNoPayload(t *testing.T) {
	h, p := super(pktSpec{seq: 5, flags: tcpACK | tcpFIN}, 1448)
	segs := segmentAll(t, h, p)
	if len(segs) != 1 || len(segs[0]) != 54 {
		t.Fatalf("%d segments", len(segs))
	}
	verify(t, segs[0])
}

func TestCompleteChecksum(t *testing.T) {
	for _, c := range []pktSpec{
		{proto: 17, payload: payload(333, 1)},
		{proto: 17, v6: true, payload: payload(1000, 2)},
		{flags: tcpACK, payload: payload(77, 3)},
		{v6: true, flags: tcpACK | tcpPSH, payload: payload(1440, 4)},
	} {
		want := build(c)
		p := append([]byte(nil), want...)
		l4 := 34
		if c.v6 {
			l4 = 54
		}
		at := 16
		if c.proto == 17 {
			at = 6
		}
		binary.BigEndian.PutUint16(p[l4+at:], Fold(pseudo(p[14:], c.v6, want[map[bool]int{false: 23, true: 20}[c.v6]], len(p)-l4)))
		h := Hdr{Flags: FlagNeedsCsum, CsumStart: uint16(l4), CsumOffset: uint16(at)}
		if err := CompleteChecksum(&h, p); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(p, want) {
			t.Fatalf("%+v: checksum %x, want %x", c, p[l4+at:l4+at+2], want[l4+at:l4+at+2])
		}
	}
	for _, h := range []Hdr{{CsumStart: 60, CsumOffset: 0}, {CsumStart: 20, CsumOffset: 39}, {CsumStart: 2, CsumOffset: 2}} {
		if err := CompleteChecksum(&h, make([]byte, 60)); !errors.Is(err, ErrCsum) {
			t.Fatalf("%+v: %v", h, err)
		}
	}
}

func TestSegmentMalformed(t *testing.T) {
	good := func() (Hdr, []byte) { return super(pktSpec{flags: tcpACK, payload: payload(3000, 1)}, 1448) }
	cases := []struct {
		name string
		mod  func(h *Hdr, p []byte) []byte
		want error
	}{
		{"udp gso", func(h *Hdr, p []byte) []byte { h.GSOType = GSOUDP; return p }, ErrGSOType},
		{"udp l4 gso", func(h *Hdr, p []byte) []byte { h.GSOType = GSOUDPL4; return p }, ErrGSOType},
		{"gso size 0", func(h *Hdr, p []byte) []byte { h.GSOSize = 0; return p }, ErrGSOSize},
		{"short eth", func(h *Hdr, p []byte) []byte { return p[:10] }, ErrShort},
		{"short ip", func(h *Hdr, p []byte) []byte { return p[:30] }, ErrShort},
		{"short tcp", func(h *Hdr, p []byte) []byte { return p[:40] }, ErrShort},
		{"v6 type on v4", func(h *Hdr, p []byte) []byte { h.GSOType = GSOTCPv6; return p }, ErrGSOProto},
		{"arp", func(h *Hdr, p []byte) []byte { p[12], p[13] = 8, 6; return p }, ErrGSOProto},
		{"udp proto", func(h *Hdr, p []byte) []byte { p[23] = 17; return p }, ErrGSOProto},
		{"ihl 4", func(h *Hdr, p []byte) []byte { p[14] = 0x44; return p }, ErrGSOProto},
		{"doff 4", func(h *Hdr, p []byte) []byte { p[46] = 0x40; return p }, ErrGSOProto},
		{"doff 15", func(h *Hdr, p []byte) []byte { p[46] = 0xf0; return p[:60] }, ErrShort},
		{"vlan cut", func(h *Hdr, p []byte) []byte { p[12], p[13] = 0x81, 0; return p[:16] }, ErrShort},
	}
	for _, c := range cases {
		h, p := good()
		p = c.mod(&h, p)
		var s Segmenter
		if err := s.Start(&h, p); !errors.Is(err, c.want) || s.Pending() {
			t.Errorf("%s: %v (pending %v), want %v", c.name, err, s.Pending(), c.want)
		}
	}
}

// A VLAN-tagged super-packet is cut too, the tag kept in every segment.
func TestSegmentVLAN(t *testing.T) {
	h, p := super(pktSpec{flags: tcpACK, payload: payload(3000, 1)}, 1000)
	p = append(append(append([]byte(nil), p[:12]...), 0x81, 0, 0, 5), p[12:]...)
	h.CsumStart += 4
	segs := segmentAll(t, h, p)
	if len(segs) != 3 {
		t.Fatalf("%d segments", len(segs))
	}
	for _, f := range segs {
		if f[12] != 0x81 || f[15] != 5 {
			t.Fatal("tag lost")
		}
		untagged := append(append([]byte(nil), f[:12]...), f[16:]...)
		verify(t, untagged)
	}
}

func FuzzSegment(f *testing.F) {
	h, p := super(pktSpec{flags: tcpACK | tcpPSH, payload: payload(3000, 1), opts: []byte{1, 1, 1, 1}}, 1000)
	vh := make([]byte, HdrLen)
	h.Encode(vh)
	f.Add(append(vh, p...))
	h6, p6 := super(pktSpec{v6: true, flags: tcpACK, payload: payload(200, 1)}, 64)
	h6.Encode(vh)
	f.Add(append(vh, p6...))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < HdrLen {
			return
		}
		var h Hdr
		h.Decode(b)
		pkt := append([]byte(nil), b[HdrLen:]...)
		if h.GSOType == GSONone {
			if h.Flags&FlagNeedsCsum != 0 {
				CompleteChecksum(&h, pkt)
			}
			return
		}
		var s Segmenter
		if s.Start(&h, pkt) != nil {
			return
		}
		total, hl := 0, s.hl
		for i := 0; s.Pending(); i++ {
			n := s.NextLen()
			if n > hl+int(h.GSOSize) || n < hl || i > len(pkt) {
				t.Fatalf("segment %d: %d bytes", i, n)
			}
			buf := make([]byte, n)
			if s.Next(buf) != n {
				t.Fatal("length")
			}
			total += n - hl
		}
		if total > len(pkt) {
			t.Fatalf("%d payload bytes out of a %d-byte packet", total, len(pkt))
		}
	})
}
