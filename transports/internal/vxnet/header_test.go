package vxnet

import (
	"bytes"
	"testing"
)

func TestHeaderVNI(t *testing.T) {
	for _, vni := range []uint32{0, 1, 42, 0x123456, MaxVNI} {
		h := NewHeader(vni)
		if h.VNI() != vni {
			t.Errorf("NewHeader(%#x).VNI() = %#x", vni, h.VNI())
		}
		if h[0] != FlagI || h[1]|h[2]|h[3]|h[7] != 0 {
			t.Errorf("NewHeader(%#x) = % x: want flags 08 and zero reserved bytes", vni, h)
		}
	}
	// The wire bytes of vdeplug's default VNI (spec §2.6: 0800 0000 0000 0100).
	if h := NewHeader(1); !bytes.Equal(h[:], []byte{8, 0, 0, 0, 0, 0, 1, 0}) {
		t.Fatalf("NewHeader(1) = % x", h)
	}
	if h := NewHeader(1<<24 | 5); h.VNI() != 5 {
		t.Fatalf("VNI is not cut to 24 bits: %#x", h.VNI())
	}
}

func TestClassify(t *testing.T) {
	frame := make([]byte, 60)
	short := make([]byte, 13)
	own := NewHeader(7)
	other := NewHeader(8)
	reserved := own
	reserved[1], reserved[7] = 0x12, 0x34 // reserved bits set
	noFlag := own
	noFlag[0] = 0
	extraFlag := own
	extraFlag[0] = 0x88
	exact := Match{Want: own, Exact: true}
	lenient := Match{Want: own}
	cases := []struct {
		name       string
		pkt        []byte
		exact, len Kind
	}{
		{"frame", Append(nil, own, frame), KindFrame, KindFrame},
		{"goodbye", own[:], KindGoodbye, KindGoodbye},
		{"runt", Append(nil, own, short), KindRunt, KindRunt},
		{"min frame", Append(nil, own, frame[:14]), KindFrame, KindFrame},
		{"other vni", Append(nil, other, frame), KindForeign, KindForeign},
		{"reserved bits", Append(nil, reserved, frame), KindForeign, KindFrame},
		{"no I flag", Append(nil, noFlag, frame), KindForeign, KindForeign},
		{"extra flag", Append(nil, extraFlag, frame), KindForeign, KindFrame},
		{"empty", nil, KindShort, KindShort},
		{"7 bytes", own[:7], KindShort, KindShort},
	}
	for _, c := range cases {
		for _, m := range []struct {
			m    Match
			want Kind
		}{{exact, c.exact}, {lenient, c.len}} {
			k, f := m.m.Parse(c.pkt)
			if k != m.want {
				t.Errorf("%s (exact=%v): kind %v, want %v", c.name, m.m.Exact, k, m.want)
			}
			if (k == KindFrame || k == KindRunt) && !bytes.Equal(f, c.pkt[HeaderLen:]) {
				t.Errorf("%s: frame % x", c.name, f)
			}
			if k != KindFrame && k != KindRunt && f != nil {
				t.Errorf("%s: %v with a frame", c.name, k)
			}
		}
	}
	if KindForeign.String() != "foreign" || Kind(99).String() != "invalid" {
		t.Error("Kind.String")
	}
}
