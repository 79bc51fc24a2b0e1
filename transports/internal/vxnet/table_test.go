package vxnet

import (
	"net/netip"
	"sync"
	"testing"
)

func mac(i int) []byte { return []byte{2, 0, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)} }

func peer(i int) Peer {
	return PeerOf(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), uint16(1000+i), 0)
}

func TestTableLearnLookupExpire(t *testing.T) {
	tb := NewTable(1000, 10)
	if tb.Size() != 1024 {
		t.Fatalf("size %d, want 1000 rounded up to 1024", tb.Size())
	}
	tb.Learn(mac(1), peer(1), 100)
	if p, ok := tb.Lookup(mac(1), 105); !ok || p != peer(1) {
		t.Fatalf("Lookup = %v %v", p, ok)
	}
	if _, ok := tb.Lookup(mac(2), 105); ok {
		t.Fatal("unknown MAC found")
	}
	if _, ok := tb.Lookup(mac(1), 110); !ok {
		t.Fatal("entry expired at exactly the expiry time")
	}
	if _, ok := tb.Lookup(mac(1), 111); ok {
		t.Fatal("entry older than the expiry time still found")
	}
	// Learning again moves the MAC and refreshes it.
	tb.Learn(mac(1), peer(2), 111)
	if p, ok := tb.Lookup(mac(1), 115); !ok || p != peer(2) {
		t.Fatalf("after a move: %v %v", p, ok)
	}
	if tb.Len(115) != 1 {
		t.Fatalf("Len = %d", tb.Len(115))
	}
	// Group addresses are never found.
	g := []byte{1, 0, 0x5e, 0, 0, 1}
	tb.Learn(g, peer(3), 115)
	if _, ok := tb.Lookup(g, 115); ok {
		t.Fatal("a group MAC was found")
	}
}

func TestTableForget(t *testing.T) {
	tb := NewTable(64, 100)
	for i := 0; i < 20; i++ {
		tb.Learn(mac(i), peer(i%3), 1)
	}
	if n := tb.Forget(peer(1)); n != 7 {
		t.Fatalf("Forget removed %d entries, want 7", n)
	}
	for i := 0; i < 20; i++ {
		_, ok := tb.Lookup(mac(i), 1)
		if ok == (i%3 == 1) {
			t.Fatalf("mac %d: found=%v after forgetting peer 1", i, ok)
		}
	}
	// Entries after a forgotten one in the same probe window stay visible.
	tb.Learn(mac(1), peer(9), 2)
	if p, ok := tb.Lookup(mac(1), 2); !ok || p != peer(9) {
		t.Fatal("relearning after Forget failed")
	}
}

func TestTableFull(t *testing.T) {
	tb := NewTable(16, 1000)
	// 100 MACs in 16 entries: the most recent ones must be found, and the
	// table must never hold a MAC twice.
	for i := 0; i < 100; i++ {
		tb.Learn(mac(i), peer(i), int64(i))
	}
	if _, ok := tb.Lookup(mac(99), 100); !ok {
		t.Fatal("the newest MAC was evicted")
	}
	if n := tb.Len(100); n != 16 {
		t.Fatalf("Len = %d, want 16", n)
	}
	seen := map[uint64]bool{}
	for _, e := range tb.ent {
		if seen[e.key] {
			t.Fatalf("key %x twice", e.key)
		}
		seen[e.key] = true
	}
}

func TestTableNil(t *testing.T) {
	tb := NewTable(0, 10) // hashsize=0: no table
	if tb != nil {
		t.Fatal("NewTable(0) is not nil")
	}
	tb.Learn(mac(1), peer(1), 1)
	if _, ok := tb.Lookup(mac(1), 1); ok || tb.Forget(peer(1)) != 0 || tb.Len(1) != 0 || tb.Size() != 0 {
		t.Fatal("nil table is not empty")
	}
}

func TestTableConcurrent(t *testing.T) {
	tb := NewTable(256, 100)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < 10000; i++ {
			tb.Learn(mac(i%300), peer(i%7), int64(i/100))
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 10000; i++ {
			if p, ok := tb.Lookup(mac(i%300), int64(i/100)); ok && p.Port < 1000 {
				t.Error("torn peer")
				return
			}
		}
	}()
	wg.Wait()
}

func TestTableAllocs(t *testing.T) {
	tb := NewTable(1024, 100)
	m, p := mac(5), peer(5)
	if n := testing.AllocsPerRun(1000, func() {
		tb.Learn(m, p, 1)
		tb.Lookup(m, 1)
	}); n != 0 {
		t.Fatalf("%v allocations per learn+lookup", n)
	}
}

func TestRoundPow2(t *testing.T) {
	for in, want := range map[int]int{1: 1, 2: 2, 3: 4, 1000: 1024, 1024: 1024, 1025: 2048} {
		if got := RoundPow2(in); got != want {
			t.Errorf("RoundPow2(%d) = %d", in, got)
		}
	}
}
