package cryptcab

import (
	"testing"

	"github.com/govde/govde/frames"
)

// pair is an established client/server session pair for allocation checks
// and benchmarks.
type pair struct {
	srv *Server
	c   *Client
	s   *Session
}

func newPair(tb testing.TB) *pair {
	psk := newTestPSK(tb)
	tm := testTiming
	tm.Keepalive = DefaultKeepalive // no keepalives in the measurements
	srv := startServer(tb, ServerConfig{PSK: &psk, Timing: tm})
	c := dial(tb, ClientConfig{Server: srv.Addr().String(), Auth: psk, Timing: tm})
	return &pair{srv: srv, c: c, s: accept(tb, srv)}
}

func batchOf(size int) *frames.Batch {
	b := frames.GetBatch()
	for i := 0; i < frames.BatchSize; i++ {
		b.Add(frames.GetCopy(frame(size, "x")))
	}
	return b
}

// roundTrip sends out through the client and reads the 64 frames on the
// server session into in (then released).
func (p *pair) roundTrip(tb testing.TB, out, in *frames.Batch) {
	if err := p.c.WriteBatch(out); err != nil {
		tb.Fatal(err)
	}
	for got := 0; got < out.N; {
		if err := p.s.ReadBatch(in); err != nil {
			tb.Fatal(err)
		}
		got += in.N
		in.ReleaseFrames()
	}
}

// sealOpen runs the encrypt/decrypt path without the sockets: the
// client's writer seals each frame of out, the server's reader opens it
// into a pooled buffer and delivers it to the session, whose ReadBatch
// hands it over.
func (p *pair) sealOpen(tb testing.TB, out, in *frames.Batch) {
	tx, e := &p.c.tx, p.srv.e
	kp := p.c.send.Load()
	from := p.s.peerName
	e.mu.Lock()
	for i, f := range out.Slice() {
		d := tx.seal(i, kp, kp.sendCtr.Add(1)-1, f.Bytes())
		e.receiveData(d, &from, e.now())
	}
	e.flush()
	e.mu.Unlock()
	for got := 0; got < out.N; {
		if err := p.s.ReadBatch(in); err != nil {
			tb.Fatal(err)
		}
		got += in.N
		in.ReleaseFrames()
	}
}

// Zero heap allocations per frame on the encrypt/decrypt path, alone and
// through the sockets (sendmmsg, recvmmsg).
func TestZeroAllocsPerFrame(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	p := newPair(t)
	in := frames.GetBatch()
	defer in.Release()
	for _, size := range []int{64, 1514, 9000} {
		out := batchOf(size)
		p.c.wmu.Lock()
		p.sealOpen(t, out, in) // warm up: slots grow once
		allocs := testing.AllocsPerRun(50, func() { p.sealOpen(t, out, in) })
		p.c.wmu.Unlock()
		if allocs != 0 {
			t.Errorf("seal+open of 64 frames of %d bytes: %.1f allocations", size, allocs)
		}
		p.roundTrip(t, out, in)
		allocs = testing.AllocsPerRun(50, func() { p.roundTrip(t, out, in) })
		if allocs != 0 {
			t.Errorf("round trip of 64 frames of %d bytes through the sockets: %.1f allocations", size, allocs)
		}
		out.Release()
	}
}

func benchSealOpen(b *testing.B, size int) {
	p := newPair(b)
	out, in := batchOf(size), frames.GetBatch()
	defer out.Release()
	defer in.Release()
	p.c.wmu.Lock()
	defer p.c.wmu.Unlock()
	p.sealOpen(b, out, in)
	b.SetBytes(int64(size * frames.BatchSize))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.sealOpen(b, out, in)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*frames.BatchSize), "ns/frame")
}

// BenchmarkSealOpen: the encrypt/decrypt path per 64-frame batch (no
// system calls); -benchmem shows 0 allocs/op.
func BenchmarkSealOpen64(b *testing.B)   { benchSealOpen(b, 64) }
func BenchmarkSealOpen1514(b *testing.B) { benchSealOpen(b, 1514) }

func benchRoundTrip(b *testing.B, size int) {
	p := newPair(b)
	out, in := batchOf(size), frames.GetBatch()
	defer out.Release()
	defer in.Release()
	p.roundTrip(b, out, in)
	b.SetBytes(int64(size * frames.BatchSize))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.roundTrip(b, out, in)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*frames.BatchSize), "ns/frame")
}

// BenchmarkRoundTrip: client WriteBatch (seal, sendmmsg) to server
// ReadBatch (recvmmsg, open) over 127.0.0.1, per 64-frame batch.
func BenchmarkRoundTrip64(b *testing.B)   { benchRoundTrip(b, 64) }
func BenchmarkRoundTrip1514(b *testing.B) { benchRoundTrip(b, 1514) }
