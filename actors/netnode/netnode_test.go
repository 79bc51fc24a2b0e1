package netnode

import (
	"bytes"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/memtest"
)

func mac(b byte) []byte { return []byte{2, 0, 0, 0, 0, b} }

var bcast = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

func eth(dst, src []byte, payload string) []byte {
	f := append(append(append([]byte{}, dst...), src...), 0x08, 0x00)
	return append(f, payload...)
}

// tagged returns a frame carrying an 802.1Q tag for vlan.
func tagged(dst, src []byte, vlan uint16, payload string) []byte {
	f := append(append(append([]byte{}, dst...), src...), 0x81, 0x00, byte(vlan>>8), byte(vlan), 0x08, 0x00)
	return append(f, payload...)
}

// port is one side of the node under test: a client (memtest endpoint) or
// the host.
type side struct {
	name string
	out  chan []byte
	in   func(p []byte)
}

func (p *side) expect(t *testing.T, want []byte) {
	t.Helper()
	select {
	case got := <-p.out:
		if !bytes.Equal(got, want) {
			t.Fatalf("%s got %q, want %q", p.name, got, want)
		}
	case <-time.After(2 * time.Second):
		t.Fatalf("%s got nothing, want %q", p.name, want)
	}
}

func (p *side) quiet(t *testing.T) {
	t.Helper()
	select {
	case got := <-p.out:
		t.Fatalf("%s unexpectedly got %q", p.name, got)
	case <-time.After(50 * time.Millisecond):
	}
}

type fixture struct {
	n    *Node
	host *side
}

func start(t *testing.T, cfg Config) *fixture {
	t.Helper()
	n := New(cfg)
	t.Cleanup(n.Close)
	f := &fixture{n: n, host: &side{name: "host", out: make(chan []byte, 256)}}
	h := n.Host()
	f.host.in = func(p []byte) {
		b := frames.GetBatch()
		b.Add(frames.GetCopy(p))
		if err := h.WriteBatch(b); err != nil {
			t.Errorf("host write: %v", err)
		}
		b.Release()
	}
	go func() {
		for {
			b := frames.GetBatch()
			err := h.ReadBatch(b)
			for _, fr := range b.Slice() {
				f.host.out <- append([]byte(nil), fr.Bytes()...)
			}
			b.Release()
			if err != nil {
				return
			}
		}
	}()
	return f
}

func (f *fixture) client(t *testing.T, name string) (*side, *memtest.Endpoint, int) {
	t.Helper()
	ep := memtest.New(name, 256)
	num, err := f.n.Attach(ep, name)
	if err != nil {
		t.Fatal(err)
	}
	return &side{name: name, out: ep.Out, in: ep.Inject}, ep, num
}

var (
	A, B, H = mac(0xa), mac(0xb), mac(1)
)

// The forwarding tables of spec §2.9, kind by kind, with two clients.
func TestForwardingTables(t *testing.T) {
	t.Run("hub", func(t *testing.T) {
		f := start(t, Config{Kind: Hub})
		a, _, _ := f.client(t, "a")
		b, _, _ := f.client(t, "b")
		h := f.host
		a.in(eth(bcast, A, "a bcast"))
		h.expect(t, eth(bcast, A, "a bcast"))
		b.expect(t, eth(bcast, A, "a bcast"))
		a.quiet(t)
		b.in(eth(A, B, "b to a")) // a hub floods unicast too
		a.expect(t, eth(A, B, "b to a"))
		h.expect(t, eth(A, B, "b to a"))
		b.quiet(t)
		h.in(eth(B, H, "h to b"))
		a.expect(t, eth(B, H, "h to b"))
		b.expect(t, eth(B, H, "h to b"))
		h.quiet(t)
	})
	t.Run("switch", func(t *testing.T) {
		f := start(t, Config{Kind: Switch})
		a, _, _ := f.client(t, "a")
		b, _, _ := f.client(t, "b")
		h := f.host
		a.in(eth(bcast, A, "a bcast"))
		h.expect(t, eth(bcast, A, "a bcast"))
		b.expect(t, eth(bcast, A, "a bcast"))
		b.in(eth(A, B, "b to a"))
		a.expect(t, eth(A, B, "b to a"))
		h.quiet(t)
		h.in(eth(bcast, H, "h bcast"))
		a.expect(t, eth(bcast, H, "h bcast"))
		b.expect(t, eth(bcast, H, "h bcast"))
		a.in(eth(H, A, "a to h"))
		h.expect(t, eth(H, A, "a to h"))
		b.quiet(t)
		h.in(eth(B, H, "h to b"))
		b.expect(t, eth(B, H, "h to b"))
		a.quiet(t)
		h.in(eth(H, H, "h to itself")) // never back to the sender
		a.in(eth(A, A, "a to itself"))
		h.quiet(t)
		a.quiet(t)
		b.quiet(t)
		h.in(eth(mac(0x77), H, "unknown"))
		a.expect(t, eth(mac(0x77), H, "unknown"))
		b.expect(t, eth(mac(0x77), H, "unknown"))
	})
	t.Run("multi", func(t *testing.T) {
		f := start(t, Config{Kind: Multi})
		a, _, _ := f.client(t, "a")
		b, _, _ := f.client(t, "b")
		h := f.host
		a.in(eth(bcast, A, "a bcast"))
		h.expect(t, eth(bcast, A, "a bcast"))
		b.quiet(t)
		b.in(eth(A, B, "b to a"))
		h.expect(t, eth(A, B, "b to a"))
		a.quiet(t)
		h.in(eth(B, H, "h to b"))
		a.expect(t, eth(B, H, "h to b"))
		b.expect(t, eth(B, H, "h to b"))
	})
	t.Run("bonding", func(t *testing.T) {
		f := start(t, Config{Kind: Bonding})
		a, _, _ := f.client(t, "a")
		b, _, _ := f.client(t, "b")
		h := f.host
		a.in(eth(bcast, A, "a bcast"))
		h.expect(t, eth(bcast, A, "a bcast"))
		b.quiet(t)
		// Round robin, broadcasts included, starting after the first client
		// as vdeplug does: 0→b, 1→a, 2→b, 3→a.
		for i, to := range []*side{b, a, b, a} {
			fr := eth(bcast, H, "h"+string(rune('0'+i)))
			h.in(fr)
			to.expect(t, fr)
		}
		a.quiet(t)
		b.quiet(t)
	})
}

func TestRunts(t *testing.T) {
	f := start(t, Config{Kind: Hub})
	a, _, _ := f.client(t, "a")
	b, _, _ := f.client(t, "b")
	a.in(eth(bcast, A, "")[:13])
	f.host.in(eth(bcast, H, "")[:13])
	a.in(eth(bcast, A, "")) // 14 bytes: forwarded
	b.expect(t, eth(bcast, A, ""))
	f.host.expect(t, eth(bcast, A, ""))
	b.quiet(t)
	a.quiet(t)
}

// The switch keys its table on the VLAN id and forwards tags unchanged.
func TestSwitchVLAN(t *testing.T) {
	f := start(t, Config{Kind: Switch})
	a, _, _ := f.client(t, "a")
	b, _, _ := f.client(t, "b")
	a.in(tagged(bcast, A, 5, "a on vlan 5"))
	b.expect(t, tagged(bcast, A, 5, "a on vlan 5"))
	f.host.expect(t, tagged(bcast, A, 5, "a on vlan 5"))
	f.host.in(eth(A, H, "untagged to a")) // A is known on VLAN 5 only
	a.expect(t, eth(A, H, "untagged to a"))
	b.expect(t, eth(A, H, "untagged to a"))
	f.host.in(tagged(A, H, 5, "vlan 5 to a"))
	a.expect(t, tagged(A, H, 5, "vlan 5 to a"))
	b.quiet(t)
	f.host.in(tagged(A, H, 1029, "vlan 1029 to a")) // 1029 & 0x3ff == 5: not the same VLAN
	a.expect(t, tagged(A, H, 1029, "vlan 1029 to a"))
	b.expect(t, tagged(A, H, 1029, "vlan 1029 to a"))
}

// A client that leaves takes its MACs with it; its number is reused.
func TestDetach(t *testing.T) {
	f := start(t, Config{Kind: Switch})
	a, aep, na := f.client(t, "a")
	b, _, nb := f.client(t, "b")
	if na != 1 || nb != 2 {
		t.Fatalf("port numbers %d %d", na, nb)
	}
	a.in(eth(bcast, A, "hi"))
	b.expect(t, eth(bcast, A, "hi"))
	f.host.expect(t, eth(bcast, A, "hi"))
	aep.Close() // its reader sees ErrClosed: the node detaches it
	deadline := time.Now().Add(2 * time.Second)
	for {
		s, err := f.n.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Clients) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("client not detached")
		}
		time.Sleep(5 * time.Millisecond)
	}
	f.host.in(eth(A, H, "to the departed"))
	b.expect(t, eth(A, H, "to the departed")) // unknown again: flooded
	c, _, nc := f.client(t, "c")
	if nc != 1 {
		t.Fatalf("new client got port %d, want the freed 1", nc)
	}
	f.host.in(eth(bcast, H, "hello c"))
	c.expect(t, eth(bcast, H, "hello c"))
	b.expect(t, eth(bcast, H, "hello c"))
}

func TestStats(t *testing.T) {
	f := start(t, Config{Kind: Hub})
	a, _, _ := f.client(t, "a")
	b, _, _ := f.client(t, "b")
	a.in(eth(bcast, A, "12345678")) // 22 bytes
	b.expect(t, eth(bcast, A, "12345678"))
	f.host.expect(t, eth(bcast, A, "12345678"))
	s, err := f.n.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if s.Kind != Hub || len(s.Clients) != 2 || s.Clients[0].Descr != "a" || s.Clients[0].InFrames != 1 || s.Clients[0].InBytes != 22 ||
		s.Clients[1].OutFrames != 1 || s.Host.OutFrames != 1 || s.Host.InFrames != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// A host that does not read loses frames (counted) instead of stalling the
// clients.
func TestHostQueueFull(t *testing.T) {
	n := New(Config{Kind: Hub, HostQueue: 2})
	defer n.Close()
	a := memtest.New("a", 256)
	b := memtest.New("b", 1024)
	if _, err := n.Attach(a, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Attach(b, "b"); err != nil {
		t.Fatal(err)
	}
	// One frame at a time: one batch for the host each.
	for i := 0; i < 10; i++ {
		a.Inject(eth(bcast, A, "flood"))
		select {
		case <-b.Out:
		case <-time.After(2 * time.Second):
			t.Fatalf("client b got %d of 10 frames", i)
		}
	}
	// the host's copy is queued after b's: let the last one be counted
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, dropped := n.Host().Drops()
		if dropped == 8 {
			break
		}
		if dropped > 8 || time.Now().After(deadline) {
			t.Fatalf("%d host drops counted, want 8 (10 frames, room for 2)", dropped)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCloseNoLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, k := range []Kind{Hub, Switch, Multi, Bonding} {
		n := New(Config{Kind: k})
		a := memtest.New("a", 16)
		if _, err := n.Attach(a, "a"); err != nil {
			t.Fatal(err)
		}
		h := n.Host()
		done := make(chan error, 1)
		go func() {
			b := frames.GetBatch()
			done <- h.ReadBatch(b)
			b.Release()
		}()
		n.Close()
		if err := <-done; !errors.Is(err, transports.ErrClosed) {
			t.Fatalf("%v: host ReadBatch after Close: %v", k, err)
		}
		if _, err := n.Attach(memtest.New("late", 1), "late"); !errors.Is(err, ErrClosed) {
			t.Fatalf("%v: Attach after Close: %v", k, err)
		}
		b := frames.GetBatch()
		b.Add(frames.GetCopy(eth(bcast, H, "late")))
		if err := h.WriteBatch(b); !errors.Is(err, transports.ErrClosed) {
			t.Fatalf("host WriteBatch after Close: %v", err)
		}
		b.Release()
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestKindNames(t *testing.T) {
	for _, k := range []Kind{Hub, Switch, Multi, Bonding} {
		if got, ok := ParseKind(k.String()); !ok || got != k {
			t.Errorf("ParseKind(%q) = %v %v", k.String(), got, ok)
		}
	}
	if _, ok := ParseKind("router"); ok || Kind(9).String() != "invalid" {
		t.Error("unknown kind accepted")
	}
}

// counter is a client endpoint that counts what it is sent, without
// allocating, and never reads anything.
type counter struct {
	n    atomic.Int64
	done chan struct{}
}

func (c *counter) ReadBatch(b *frames.Batch) error { <-c.done; return transports.ErrClosed }
func (c *counter) WriteBatch(b *frames.Batch) error {
	c.n.Add(int64(b.N))
	return nil
}
func (c *counter) WriteNeverBlocks() bool { return true }
func (c *counter) Close() error {
	select {
	case <-c.done:
	default:
		close(c.done)
	}
	return nil
}
func (c *counter) Describe() string { return "counter" }

func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	for _, k := range []Kind{Hub, Switch, Multi, Bonding} {
		n := New(Config{Kind: k})
		c1, c2 := &counter{done: make(chan struct{})}, &counter{done: make(chan struct{})}
		n.Attach(c1, "1")
		n.Attach(c2, "2")
		in := frames.GetBatch()
		for i := 0; i < 16; i++ {
			in.Add(frames.GetCopy(eth(bcast, H, "payload payload payload")))
		}
		h := n.Host()
		want := int64(0)
		cycle := func() {
			if err := h.WriteBatch(in); err != nil {
				t.Fatal(err)
			}
			if k == Bonding {
				want += int64(in.N) / 2
			} else {
				want += int64(in.N)
			}
			for c1.n.Load() < want || c2.n.Load() < want {
				runtime.Gosched()
			}
		}
		for i := 0; i < 50; i++ {
			cycle()
		}
		if a := testing.AllocsPerRun(200, cycle); a != 0 {
			t.Errorf("%v: %v allocations per batch of %d frames", k, a, in.N)
		}
		in.Release()
		n.Close()
	}
}
