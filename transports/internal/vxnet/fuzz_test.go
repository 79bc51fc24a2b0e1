package vxnet

import (
	"bytes"
	"testing"

	"github.com/govde/govde/frames"
)

// FuzzParse checks the vx datagram parser on arbitrary input, for both
// matching rules and any VNI: it never panics, the kind agrees with the
// bytes, the frame is the tail of the datagram, and what Append builds
// parses back.
func FuzzParse(f *testing.F) {
	h1 := NewHeader(1)
	for _, s := range [][]byte{
		nil, {8}, h1[:], Append(nil, NewHeader(1), make([]byte, 14)),
		Append(nil, NewHeader(0xabcdef), []byte("0123456789abcdef")),
		{0x88, 1, 2, 3, 0, 0, 1, 9, 1, 2, 3},
	} {
		f.Add(s, uint32(1))
	}
	f.Fuzz(func(t *testing.T, pkt []byte, vni uint32) {
		want := NewHeader(vni)
		for _, exact := range []bool{true, false} {
			m := Match{Want: want, Exact: exact}
			k, frame := m.Parse(pkt)
			if len(pkt) < HeaderLen {
				if k != KindShort || frame != nil {
					t.Fatalf("short datagram %x: %v", pkt, k)
				}
				continue
			}
			headerOK := bytes.Equal(pkt[:HeaderLen], want[:])
			if !exact {
				headerOK = pkt[0]&FlagI != 0 && bytes.Equal(pkt[4:7], want[4:7])
			}
			body := len(pkt) - HeaderLen
			var wantKind Kind
			switch {
			case !headerOK:
				wantKind = KindForeign
			case body == 0:
				wantKind = KindGoodbye
			case body < frames.MinFrame:
				wantKind = KindRunt
			default:
				wantKind = KindFrame
			}
			if k != wantKind {
				t.Fatalf("Parse(%x, exact=%v, vni %#x) = %v, want %v", pkt, exact, vni, k, wantKind)
			}
			if k == KindFrame && !bytes.Equal(frame, pkt[HeaderLen:]) {
				t.Fatalf("frame %x is not the tail of %x", frame, pkt)
			}
			if k2 := m.Classify(pkt[:HeaderLen], body); k2 != k {
				t.Fatalf("Classify = %v, Parse = %v", k2, k)
			}
		}
		if len(pkt) >= frames.MinFrame {
			round := Append(nil, want, pkt)
			for _, exact := range []bool{true, false} {
				k, frame := Match{Want: want, Exact: exact}.Parse(round)
				if k != KindFrame || !bytes.Equal(frame, pkt) {
					t.Fatalf("round trip of %x (exact=%v): %v %x", pkt, exact, k, frame)
				}
			}
		}
	})
}
