package frames

import (
	"bytes"
	"fmt"
	"testing"
)

func sample(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i)
	}
	return p
}

func TestGetCopyAndClasses(t *testing.T) {
	for _, n := range []int{14, 60, 1514, MaxStd, MaxStd + 1, 9000, MaxJumbo} {
		b := GetCopy(sample(n))
		if b.Len() != n || !bytes.Equal(b.Bytes(), sample(n)) {
			t.Fatalf("size %d: len %d", n, b.Len())
		}
		if want := MaxStd; n > MaxStd {
			want = MaxJumbo
			if b.Cap() != want {
				t.Fatalf("size %d: cap %d want %d", n, b.Cap(), want)
			}
		} else if b.Cap() != want {
			t.Fatalf("size %d: cap %d want %d", n, b.Cap(), want)
		}
		b.Release()
	}
}

func TestRefcount(t *testing.T) {
	b := GetCopy(sample(64))
	if b.Shared() || b.Refs() != 1 {
		t.Fatal("fresh buffer shared")
	}
	b.Retain(2)
	if !b.Shared() || b.Refs() != 3 {
		t.Fatal("retain")
	}
	b.Release()
	b.Release()
	if b.Shared() {
		t.Fatal("still shared with one reference")
	}
	b.Release()
	defer func() {
		if recover() == nil {
			t.Fatal("double release did not panic")
		}
	}()
	b.Release()
}

func TestPushPopTag(t *testing.T) {
	orig := sample(60)
	orig[12], orig[13] = 0x08, 0x00
	b := GetCopy(orig)
	defer b.Release()
	if !b.PushTag(0xa00a) {
		t.Fatal("push failed")
	}
	p := b.Bytes()
	if len(p) != 64 || !IsTagged(p) || TCI(p) != 0xa00a || VID(p) != 10 {
		t.Fatalf("tagged frame % x", p)
	}
	if !bytes.Equal(p[:12], orig[:12]) || !bytes.Equal(p[16:], orig[12:]) {
		t.Fatalf("tag push moved the wrong bytes: % x", p)
	}
	b.PopTag()
	if !bytes.Equal(b.Bytes(), orig) {
		t.Fatalf("pop did not restore: % x", b.Bytes())
	}
	// a second push without headroom left shifts the tail instead
	b.PushTag(1)
	b.PushTag(2)
	p = b.Bytes()
	if len(p) != 68 || TCI(p) != 2 || p[16] != 0x81 || p[17] != 0 || uint16(p[18])<<8|uint16(p[19]) != 1 {
		t.Fatalf("double tag % x", p)
	}
	// a full-size jumbo frame cannot grow
	j := GetCopy(sample(MaxJumbo))
	j.off = 0
	j.mem = j.mem[:MaxJumbo]
	if j.PushTag(5) {
		t.Fatal("push beyond capacity succeeded")
	}
}

func TestClonePrivate(t *testing.T) {
	b := GetCopy(sample(100))
	b.Retain(1)
	c := b.Clone()
	c.Bytes()[0] = 0xee
	if b.Bytes()[0] == 0xee || c.Shared() {
		t.Fatal("clone shares memory")
	}
	b.Release()
	b.Release()
	c.Release()
}

func TestBatch(t *testing.T) {
	b := GetBatch()
	for i := 0; i < BatchSize; i++ {
		if !b.Add(GetCopy(sample(20))) {
			t.Fatalf("add %d refused", i)
		}
	}
	extra := GetCopy(sample(20))
	if b.Add(extra) || !b.Full() || b.Bytes() != 20*BatchSize {
		t.Fatal("batch overflow")
	}
	extra.Release()
	b.Release()
}

func TestMAC(t *testing.T) {
	for _, s := range []string{"02:00:00:00:01:01", "2.0.0.0.1.1", "ff:FF:ff:ff:ff:ff"} {
		m, err := ParseMAC(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if _, err := ParseMAC(m.String()); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []string{"", "zz", "1:2:3:4:5", "1:2:3:4:5:6:7", "123:0:0:0:0:0", "g1:0:0:0:0:0"} {
		if _, err := ParseMAC(s); err == nil {
			t.Fatalf("%q accepted", s)
		}
	}
	m := MAC{2, 0, 0, 0, 0, 0x0a}
	if m.String() != "02:00:00:00:00:0a" || m.IsMulticast() || !Broadcast.IsMulticast() {
		t.Fatal(m.String())
	}
	k := Key(m, 4093)
	if KeyMAC(k) != m || KeyVLAN(k) != 4093 || KeyOf(m[:], 4093) != k {
		t.Fatal("key round trip")
	}
}

// Getting and releasing frames and batches allocates nothing once the pools
// are warm.
func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items on purpose")
	}
	p := sample(1500)
	allocs := testing.AllocsPerRun(1000, func() {
		b := GetBatch()
		for i := 0; i < 32; i++ {
			f := Get(len(p))
			f.SetLen(copy(f.Space(), p))
			f.Retain(1)
			f.Release()
			b.Add(f)
		}
		b.Release()
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocs per batch", allocs)
	}
}

func BenchmarkGetRelease(b *testing.B) {
	for _, n := range []int{64, 1500} {
		b.Run(fmt.Sprintf("size=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				f := Get(n)
				f.SetLen(n)
				f.Release()
			}
		})
	}
}
