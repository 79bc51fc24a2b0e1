package offload

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/govde/govde/transports/internal/offload/offloadtest"
)

// flow returns n consecutive full segments of one flow (the last one
// shorter when short, PSH on the last one).
func flow(v6 bool, n, mss int, short bool) [][]byte {
	var fs [][]byte
	seq := uint32(0xffffff00)
	for i := 0; i < n; i++ {
		l := mss
		if short && i == n-1 {
			l = mss / 3
		}
		fl := byte(tcpACK)
		if i == n-1 {
			fl |= tcpPSH
		}
		fs = append(fs, build(pktSpec{v6: v6, seq: seq, ack: 9, id: uint16(100 + i), flags: fl,
			opts: []byte{1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 8}, payload: payload(l, byte(i))}))
		seq += uint32(l)
	}
	return fs
}

// coalesce runs a Coalescer over fs and returns the groups' sizes.
func coalesce(fs [][]byte) []int {
	var c Coalescer
	var groups []int
	for i := 0; i < len(fs); {
		var s Seg
		if !ParseSeg(fs[i], &s) {
			groups = append(groups, 1)
			i++
			continue
		}
		c.Start(fs[i], &s)
		j := i + 1
		for ; j < len(fs); j++ {
			var gs Seg
			if !ParseSeg(fs[j], &gs) || !c.Add(fs[j], &gs) {
				break
			}
		}
		groups = append(groups, c.N())
		i = j
	}
	return groups
}

// Merging then cutting again gives back the very segments (the kernel's
// TSO does what Segmenter does), and the super-packet's partial checksum
// completes to a correct one.
func TestCoalesceRoundTrip(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		for _, short := range []bool{false, true} {
			mss := 1448
			if v6 {
				mss = 1428
			}
			fs := flow(v6, 20, mss, short)
			var c Coalescer
			var s Seg
			if !ParseSeg(fs[0], &s) {
				t.Fatal("first segment not a candidate")
			}
			c.Start(fs[0], &s)
			for _, f := range fs[1:] {
				var gs Seg
				if !ParseSeg(f, &gs) || !c.Add(f, &gs) {
					t.Fatalf("v6 %v: segment not merged", v6)
				}
			}
			vh := make([]byte, HdrLen)
			hdr := make([]byte, HeaderLen)
			n := c.Header(vh, hdr)
			sp := append([]byte(nil), hdr[:n]...)
			for _, f := range fs {
				var gs Seg
				ParseSeg(f, &gs)
				sp = append(sp, gs.Payload(f)...)
			}
			var h Hdr
			h.Decode(vh)
			want := GSOTCPv4
			if v6 {
				want = GSOTCPv6
			}
			if h.GSOType != uint8(want) || h.Flags != FlagNeedsCsum || int(h.GSOSize) != mss || int(h.HdrLen) != n {
				t.Fatalf("vnet header %+v", h)
			}
			segs := segmentAll(t, h, sp)
			if len(segs) != len(fs) {
				t.Fatalf("%d segments back, want %d", len(segs), len(fs))
			}
			for i := range fs {
				if !bytes.Equal(segs[i], fs[i]) {
					t.Fatalf("v6 %v short %v: segment %d differs", v6, short, i)
				}
			}
			if err := CompleteChecksum(&h, sp); err != nil {
				t.Fatal(err)
			}
			verify(t, sp)
		}
	}
}

func TestCoalesceRules(t *testing.T) {
	mod := func(i int, f func(p []byte)) [][]byte {
		fs := flow(false, 4, 1000, false)
		f(fs[i])
		return fs
	}
	// refix recomputes the checksums of a modified IPv4 frame.
	refix := func(p []byte) {
		p[24], p[25] = 0, 0
		binary.BigEndian.PutUint16(p[24:], offloadtest.Checksum(p[14:34]))
		p[50], p[51] = 0, 0
		binary.BigEndian.PutUint16(p[50:], offloadtest.Checksum(offloadtest.PseudoHeader(p[14:], false, protoTCP, len(p)-34), p[34:]))
	}
	cases := []struct {
		name string
		fs   [][]byte
		want []int
	}{
		{"one flow", flow(false, 4, 1000, false), []int{4}},
		{"short in the middle", func() [][]byte {
			a := flow(false, 2, 1000, true)
			b := flow(false, 2, 1000, false)
			return append(a, b...)
		}(), []int{2, 2}}, // the second flow starts over
		{"psh in the middle", mod(1, func(p []byte) { p[47] |= tcpPSH; refix(p) }), []int{2, 2}},
		{"seq gap", mod(2, func(p []byte) { p[41]++; refix(p) }), []int{2, 1, 1}},
		{"other ack", mod(2, func(p []byte) { p[45]++; refix(p) }), []int{2, 1, 1}},
		{"other port", mod(2, func(p []byte) { p[35]++; refix(p) }), []int{2, 1, 1}},
		{"other window", mod(3, func(p []byte) { p[49]++; refix(p) }), []int{3, 1}},
		{"other timestamp", mod(1, func(p []byte) { p[61]++; refix(p) }), []int{1, 1, 2}},
		{"other tos", mod(1, func(p []byte) { p[15] = 2; refix(p) }), []int{1, 1, 2}},
		{"other ttl", mod(1, func(p []byte) { p[22]--; refix(p) }), []int{1, 1, 2}},
		{"fin", mod(3, func(p []byte) { p[47] |= tcpFIN; refix(p) }), []int{3, 1}},
		{"syn", mod(0, func(p []byte) { p[47] |= tcpSYN; refix(p) }), []int{1, 3}},
		{"cwr", mod(0, func(p []byte) { p[47] |= tcpCWR; refix(p) }), []int{1, 3}},
		{"ece", mod(2, func(p []byte) { p[47] |= tcpECE; refix(p) }), []int{2, 1, 1}},
		{"urg", mod(2, func(p []byte) { p[47] |= tcpURG; refix(p) }), []int{2, 1, 1}},
		{"fragment", mod(2, func(p []byte) { p[20] |= 0x20; refix(p) }), []int{2, 1, 1}},
		{"bad tcp checksum", mod(1, func(p []byte) { p[100] ^= 1 }), []int{1, 1, 2}},
		{"bad ip checksum", mod(1, func(p []byte) { p[22]-- }), []int{1, 1, 2}},
		{"truncated", mod(1, func(p []byte) {}), nil},
		{"other mac", mod(2, func(p []byte) { p[0]++ }), []int{2, 1, 1}},
	}
	for _, c := range cases {
		if c.name == "truncated" {
			c.fs[1] = c.fs[1][:500]
			c.want = []int{1, 1, 2}
		}
		if got := coalesce(c.fs); !equalInts(got, c.want) {
			t.Errorf("%s: groups %v, want %v", c.name, got, c.want)
		}
	}
	// At most 65535 bytes of IP packet, at most MaxSegs segments.
	if got := coalesce(flow(true, 50, 1428, false)); !equalInts(got, []int{45, 5}) {
		t.Errorf("64 KiB: groups %v", got)
	}
	if got := coalesce(flow(false, 200, 100, false)); !equalInts(got, []int{64, 64, 64, 8}) {
		t.Errorf("MaxSegs: groups %v", got)
	}
	// Acks without payload stay alone.
	ack := build(pktSpec{flags: tcpACK, seq: 1})
	if got := coalesce([][]byte{ack, ack}); !equalInts(got, []int{1, 1}) {
		t.Errorf("acks: %v", got)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
