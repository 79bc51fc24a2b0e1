package vxnet

import (
	"bytes"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
)

// open returns a UDP socket bound to addr:0 (closed at cleanup).
func open(t testing.TB, addr string, pktinfo bool) *Socket {
	t.Helper()
	a := netip.MustParseAddr(addr)
	s, err := OpenUDP(SocketConfig{V6: a.Is6(), Bind: netip.AddrPortFrom(a, 0), MulticastTTL: -1, UnicastTTL: -1, PktInfo: pktinfo})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// acceptFrames accepts frames with the wanted header and records packets.
type acceptFrames struct {
	m     Match
	mu    sync.Mutex
	seen  []Packet
	kinds []Kind
}

func (a *acceptFrames) Accept(p *Packet) bool {
	k := a.m.Classify(p.Header, len(p.Frame))
	a.mu.Lock()
	c := *p
	c.Header, c.Frame = append([]byte(nil), p.Header...), nil
	a.seen = append(a.seen, c)
	a.kinds = append(a.kinds, k)
	a.mu.Unlock()
	return k == KindFrame
}

// to routes every frame to one peer, or drops frames whose first byte is
// 0xee.
type to struct{ p Peer }

func (r to) Route(p []byte, dst *Peer) bool {
	if p[0] == 0xee {
		return false
	}
	*dst = r.p
	return true
}

func localPeer(s *Socket) Peer { return PeerOf(s.Local().Addr(), s.Local().Port(), 0) }

func testFrame(n int, seed byte) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = seed + byte(i*13)
	}
	p[0] &^= 1
	return p
}

func batchOf(ps ...[]byte) *frames.Batch {
	b := frames.GetBatch()
	for _, p := range ps {
		b.Add(frames.GetCopy(p))
	}
	return b
}

// readWithin reads one batch with a watchdog.
func readWithin(t testing.TB, r *Receiver, d time.Duration) *frames.Batch {
	t.Helper()
	b := frames.GetBatch()
	done := make(chan error, 1)
	go func() { done <- r.ReadBatch(b) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ReadBatch: %v", err)
		}
	case <-time.After(d):
		t.Fatal("ReadBatch timed out")
	}
	return b
}

func TestSendReceive(t *testing.T) {
	for _, addr := range []string{"127.0.0.1", "::1"} {
		t.Run(addr, func(t *testing.T) {
			a, b := open(t, addr, false), open(t, addr, true)
			h := NewHeader(0x42)
			f := &acceptFrames{m: Match{Want: h, Exact: true}}
			rx, err := NewReceiver([]*Socket{b}, 0, f)
			if err != nil {
				t.Fatal(err)
			}
			defer rx.Close()
			max := UDPMaxFrame(a.V6())
			tx := NewSender(a, h, max, nil)
			sizes := []int{14, 60, 1514, 1522, 1523, 9000, max}
			var want [][]byte
			for i, n := range sizes {
				want = append(want, testFrame(n, byte(i)))
			}
			in := batchOf(append(want, testFrame(13, 9), testFrame(max+1, 9), append([]byte{0xee}, testFrame(20, 1)...))...)
			if err := tx.WriteBatch(in, to{localPeer(b)}); err != nil {
				t.Fatal(err)
			}
			in.Release()
			if s := tx.Stats(); s.Frames != uint64(len(sizes)) || s.Dropped != 3 || s.Errors != 0 {
				t.Fatalf("sender stats %+v", s)
			}
			var got [][]byte
			for len(got) < len(want) {
				out := readWithin(t, rx, 3*time.Second)
				for _, fr := range out.Slice() {
					got = append(got, append([]byte(nil), fr.Bytes()...))
					// Small frames are copied out of the jumbo slots.
					if fr.Len() <= frames.MaxStd && fr.Cap() > frames.MaxStd {
						t.Errorf("a %d-byte frame sits in a %d-byte buffer", fr.Len(), fr.Cap())
					}
				}
				out.Release()
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("frame %d (%d bytes) differs (got %d bytes)", i, len(want[i]), len(got[i]))
				}
			}
			f.mu.Lock()
			p := f.seen[0]
			f.mu.Unlock()
			if p.From != localPeer(a) || p.Sock != 0 || !bytes.Equal(p.Header, h[:]) {
				t.Fatalf("packet %+v, want from %v", p, localPeer(a))
			}
			if !p.HasDst() || p.Dst() != b.Local().Addr() || p.DstIsMulticast() {
				t.Fatalf("destination %v (known %v)", p.Dst(), p.HasDst())
			}
			if s := rx.Stats(); s.Frames != uint64(len(sizes)) {
				t.Fatalf("receiver stats %+v", s)
			}
		})
	}
}

func TestReceiverFilterAndTruncate(t *testing.T) {
	a, b := open(t, "127.0.0.1", false), open(t, "127.0.0.1", false)
	h := NewHeader(1)
	f := &acceptFrames{m: Match{Want: h, Exact: true}}
	rx, err := NewReceiver([]*Socket{b}, 100, f)
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	// A goodbye, a foreign VNI, a short datagram, then a 300-byte frame that
	// the 100-byte receiver truncates.
	a.SendTo(h, nil, localPeer(b))
	a.SendTo(NewHeader(2), testFrame(60, 1), localPeer(b))
	raw(t, a, []byte{8, 0, 0}, localPeer(b))
	a.SendTo(h, testFrame(300, 2), localPeer(b))
	out := readWithin(t, rx, 3*time.Second)
	defer out.Release()
	if out.N != 1 || out.Frames[0].Len() != 100 || !bytes.Equal(out.Frames[0].Bytes(), testFrame(300, 2)[:100]) {
		t.Fatalf("got %d frames, first %d bytes", out.N, out.Frames[0].Len())
	}
	f.mu.Lock()
	kinds := f.kinds
	f.mu.Unlock()
	if len(kinds) != 4 || kinds[0] != KindGoodbye || kinds[1] != KindForeign || kinds[2] != KindShort || kinds[3] != KindFrame {
		t.Fatalf("kinds %v", kinds)
	}
	if s := rx.Stats(); s.Truncated != 1 || s.Filtered != 3 {
		t.Fatalf("stats %+v", s)
	}
}

// raw sends p as a datagram from s.
func raw(t testing.TB, s *Socket, p []byte, dst Peer) {
	t.Helper()
	err := s.Control(func(fd int) error {
		return unix.Sendto(fd, p, 0, &unix.SockaddrInet4{Port: int(dst.Port), Addr: dst.IP().As4()})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReceiverTwoSockets(t *testing.T) {
	a, b, c := open(t, "127.0.0.1", false), open(t, "127.0.0.1", false), open(t, "127.0.0.1", false)
	h := NewHeader(1)
	f := &acceptFrames{m: Match{Want: h, Exact: true}}
	rx, err := NewReceiver([]*Socket{b, c}, 0, f)
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	a.SendTo(h, testFrame(50, 1), localPeer(b))
	a.SendTo(h, testFrame(50, 2), localPeer(c))
	n := 0
	for n < 2 {
		out := readWithin(t, rx, 3*time.Second)
		n += out.N
		out.Release()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	socks := map[int]bool{}
	for _, p := range f.seen {
		socks[p.Sock] = true
	}
	if !socks[0] || !socks[1] {
		t.Fatalf("datagrams seen on sockets %v, want 0 and 1", socks)
	}
}

func TestReceiverClose(t *testing.T) {
	b := open(t, "127.0.0.1", false)
	rx, err := NewReceiver([]*Socket{b}, 0, &acceptFrames{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		bt := frames.GetBatch()
		done <- rx.ReadBatch(bt)
		bt.Release()
	}()
	time.Sleep(20 * time.Millisecond)
	rx.Close()
	select {
	case err := <-done:
		if !errors.Is(err, transports.ErrClosed) {
			t.Fatalf("ReadBatch after Close: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Close did not unblock ReadBatch")
	}
	if err := rx.ReadBatch(frames.GetBatch()); !errors.Is(err, transports.ErrClosed) {
		t.Fatalf("second ReadBatch: %v", err)
	}
}

func TestSenderErrors(t *testing.T) {
	a, b := open(t, "127.0.0.1", false), open(t, "127.0.0.1", false)
	var reports atomic.Int32
	var last atomic.Value
	tx := NewSender(a, NewHeader(1), 65499, func(err error, _ uint64) { reports.Add(1); last.Store(err.Error()) })
	rx, err := NewReceiver([]*Socket{b}, 0, &acceptFrames{m: Match{Want: NewHeader(1)}})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	// Port 0 is refused by the kernel (EINVAL): that frame only is lost.
	bad := to{PeerOf(netip.MustParseAddr("127.0.0.1"), 0, 0)}
	r := &mixed{bad: bad.p, good: localPeer(b)}
	in := batchOf(testFrame(60, 1), testFrame(60, 2), testFrame(60, 3))
	defer in.Release()
	if err := tx.WriteBatch(in, r); err != nil {
		t.Fatal(err)
	}
	if s := tx.Stats(); s.Frames != 2 || s.Errors != 1 {
		t.Fatalf("stats %+v", s)
	}
	if reports.Load() != 1 || last.Load().(string) == "" {
		t.Fatalf("%d reports", reports.Load())
	}
	got := 0
	for got < 2 {
		out := readWithin(t, rx, 3*time.Second)
		got += out.N
		out.Release()
	}
}

// mixed sends the second frame to bad, the others to good.
type mixed struct {
	n         int
	bad, good Peer
}

func (m *mixed) Route(p []byte, dst *Peer) bool {
	m.n++
	if m.n == 2 {
		*dst = m.bad
	} else {
		*dst = m.good
	}
	return true
}

func TestIOAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	a, b := open(t, "127.0.0.1", false), open(t, "127.0.0.1", false)
	h := NewHeader(1)
	rx, err := NewReceiver([]*Socket{b}, 0, &countOnly{m: Match{Want: h, Exact: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	tx := NewSender(a, h, 65499, nil)
	in := batchOf(testFrame(60, 1), testFrame(1514, 2), testFrame(9000, 3), testFrame(200, 4))
	defer in.Release()
	out := frames.GetBatch()
	dst := &to{localPeer(b)}
	cycle := func() {
		if err := tx.WriteBatch(in, dst); err != nil {
			t.Fatal(err)
		}
		for got := 0; got < in.N; {
			if err := rx.ReadBatch(out); err != nil {
				t.Fatal(err)
			}
			got += out.N
			out.ReleaseFrames()
		}
	}
	for i := 0; i < 50; i++ {
		cycle()
	}
	if n := testing.AllocsPerRun(200, cycle); n != 0 {
		t.Fatalf("%v allocations per %d-frame batch sent and received", n, in.N)
	}
}

// countOnly accepts matching frames without recording anything.
type countOnly struct{ m Match }

func (c *countOnly) Accept(p *Packet) bool { return c.m.Classify(p.Header, len(p.Frame)) == KindFrame }

func TestLocalAddrs(t *testing.T) {
	l, err := NewLocalAddrs()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if !l.Has(netip.MustParseAddr("127.0.0.1")) || !l.Has(netip.MustParseAddr("::ffff:127.0.0.1")) {
		t.Fatal("127.0.0.1 is not local")
	}
	if l.Has(netip.MustParseAddr("192.0.2.77")) {
		t.Fatal("192.0.2.77 (TEST-NET-1) is local")
	}
	l.Close()
	if !l.Has(netip.MustParseAddr("127.0.0.1")) {
		t.Fatal("after Close the last dump is gone")
	}
}

func TestPeerString(t *testing.T) {
	for p, want := range map[Peer]string{
		PeerOf(netip.MustParseAddr("10.1.2.3"), 4789, 0): "10.1.2.3:4789",
		PeerOf(netip.MustParseAddr("ff05::1"), 14789, 0): "[ff05::1]:14789",
		PeerOf(netip.MustParseAddr("fe80::1"), 14789, 3): "[fe80::1%3]:14789",
		PeerOf(netip.MustParseAddr("239.0.0.1"), 1, 0):   "239.0.0.1:1",
	} {
		if p.String() != want {
			t.Errorf("%s, want %s", p, want)
		}
	}
	if !PeerOf(netip.MustParseAddr("239.0.0.1"), 1, 0).IsMulticast() || !PeerOf(netip.MustParseAddr("1.2.3.4"), 1, 0).Is4() {
		t.Error("IsMulticast/Is4")
	}
}
