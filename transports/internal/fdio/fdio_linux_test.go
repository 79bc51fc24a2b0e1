package fdio

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
)

// pair returns a Packet on one end of a SOCK_SEQPACKET socketpair and the
// other end as a raw fd (closed at cleanup unless the test closes it).
func pair(t *testing.T, cfg Config) (*Packet, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(fds[0], cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(); unix.Close(fds[1]) })
	return p, fds[1]
}

func frame(n int, seed byte) []byte {
	f := make([]byte, n)
	for i := range f {
		f[i] = seed + byte(i*7)
	}
	return f
}

func readAll(t *testing.T, p *Packet, want int) [][]byte {
	t.Helper()
	var got [][]byte
	for len(got) < want {
		b := frames.GetBatch()
		if err := p.ReadBatch(b); err != nil {
			t.Fatalf("ReadBatch after %d frames: %v", len(got), err)
		}
		for _, f := range b.Slice() {
			got = append(got, append([]byte(nil), f.Bytes()...))
		}
		b.Release()
	}
	return got
}

// Frames of every size class cross intact, runts are dropped, and the
// reader switches to jumbo buffers after a jumbo frame.
func TestReadSizesAndJumboMode(t *testing.T) {
	p, peer := pair(t, Config{EOFOnZero: true})
	sizes := []int{60, 5, 1514, frames.MaxStd, frames.MaxStd + 1, 9014, 100, frames.MaxJumbo, 14}
	for i, n := range sizes {
		if _, err := unix.Write(peer, frame(n, byte(i))); err != nil {
			t.Fatal(err)
		}
	}
	var got [][]byte
	var caps []int
	for len(got) < len(sizes)-1 {
		b := frames.GetBatch()
		if err := p.ReadBatch(b); err != nil {
			t.Fatal(err)
		}
		for _, f := range b.Slice() {
			got = append(got, append([]byte(nil), f.Bytes()...))
			caps = append(caps, f.Cap())
		}
		b.Release()
	}
	j := 0
	for i, n := range sizes {
		if n < frames.MinFrame {
			continue
		}
		if !bytes.Equal(got[j], frame(n, byte(i))) {
			t.Fatalf("frame %d (%d bytes) differs: got %d bytes", i, n, len(got[j]))
		}
		j++
	}
	// 60 and 1514 arrive before any jumbo frame: standard buffers; 100 and
	// 14 come after one: jumbo buffers (no copy for the next jumbo frame).
	if caps[0] != frames.MaxStd || caps[1] != frames.MaxStd {
		t.Fatalf("standard frames in buffers of %v", caps[:2])
	}
	if caps[5] != frames.MaxJumbo || caps[7] != frames.MaxJumbo {
		t.Fatalf("frames after a jumbo one in buffers of %d, %d", caps[5], caps[7])
	}
	if st := p.Stats(); st.Runts != 1 || st.ReadFrames != uint64(len(sizes)-1) {
		t.Fatalf("stats %+v", st)
	}
}

func TestTruncateToMaxFrame(t *testing.T) {
	p, peer := pair(t, Config{MaxFrame: 100})
	unix.Write(peer, frame(300, 1))
	unix.Write(peer, frame(50, 2))
	got := readAll(t, p, 2)
	if !bytes.Equal(got[0], frame(300, 1)[:100]) || !bytes.Equal(got[1], frame(50, 2)) {
		t.Fatalf("got %d and %d bytes", len(got[0]), len(got[1]))
	}
	if p.MaxFrame() != 100 {
		t.Fatalf("MaxFrame %d", p.MaxFrame())
	}
}

// The frames read before the peer closed are delivered, then io.EOF.
func TestEOFAfterFrames(t *testing.T) {
	p, peer := pair(t, Config{EOFOnZero: true})
	unix.Write(peer, frame(64, 1))
	unix.Write(peer, frame(64, 2))
	unix.Close(peer)
	got := readAll(t, p, 2)
	if len(got) != 2 {
		t.Fatalf("%d frames", len(got))
	}
	b := frames.GetBatch()
	defer b.Release()
	if err := p.ReadBatch(b); err != io.EOF {
		t.Fatalf("after close: %v", err)
	}
	if err := p.ReadBatch(b); err != io.EOF {
		t.Fatalf("EOF not sticky: %v", err)
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	p, _ := pair(t, Config{})
	done := make(chan error, 1)
	go func() {
		b := frames.GetBatch()
		defer b.Release()
		done <- p.ReadBatch(b)
	}()
	time.Sleep(20 * time.Millisecond)
	p.Close()
	select {
	case err := <-done:
		if err != transports.ErrClosed {
			t.Fatalf("ReadBatch after Close: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not unblock ReadBatch")
	}
	b := frames.GetBatch()
	b.Add(frames.GetCopy(frame(60, 1)))
	defer b.Release()
	if err := p.WriteBatch(b); err != transports.ErrClosed {
		t.Fatalf("WriteBatch after Close: %v", err)
	}
}

func batchOf(n, size int) *frames.Batch {
	b := frames.GetBatch()
	for i := 0; i < n; i++ {
		b.Add(frames.GetCopy(frame(size, byte(i))))
	}
	return b
}

// Without BlockingWrites a full socket drops and counts; with it the
// writer waits for the reader and nothing is lost.
func TestWriteModes(t *testing.T) {
	p, _ := pair(t, Config{})
	if !p.WriteNeverBlocks() {
		t.Fatal("dropping Packet claims to block")
	}
	b := batchOf(64, 1500)
	defer b.Release()
	for i := 0; i < 20; i++ {
		if err := p.WriteBatch(b); err != nil {
			t.Fatal(err)
		}
	}
	if st := p.Stats(); st.WriteAgain == 0 || st.WriteFrames+st.WriteAgain != 20*64 {
		t.Fatalf("non-blocking writes into a full socket: %+v", st)
	}

	q, qpeer := pair(t, Config{BlockingWrites: true})
	if q.WriteNeverBlocks() {
		t.Fatal("blocking Packet claims never to block")
	}
	const batches = 20
	done := make(chan error, 1)
	go func() {
		for i := 0; i < batches; i++ {
			if err := q.WriteBatch(b); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	buf := make([]byte, 2000)
	for i := 0; i < batches*64; i++ {
		n, err := unix.Read(qpeer, buf)
		if err != nil || n != 1500 || !bytes.Equal(buf[:n], frame(1500, byte(i%64))) {
			t.Fatalf("frame %d: %d bytes, %v", i, n, err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := q.Stats(); st.WriteFrames != batches*64 || st.WriteAgain != 0 {
		t.Fatalf("blocking writes: %+v", st)
	}
	// The peer is gone: the writer reports it instead of blocking.
	unix.Close(qpeer)
	err := q.WriteBatch(b)
	if !errors.Is(err, unix.EPIPE) && !errors.Is(err, unix.ECONNRESET) {
		t.Fatalf("write to a closed peer: %v", err)
	}
}

// Steady state: no allocation per frame, either way.
func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under -race")
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(fds[0], Config{BlockingWrites: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	pb, err := New(fds[1], Config{BlockingWrites: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pb.Close()
	out := batchOf(32, 1514)
	defer out.Release()
	in := frames.GetBatch()
	defer in.Release()
	cycle := func() {
		if err := a.WriteBatch(out); err != nil {
			t.Fatal(err)
		}
		for n := 0; n < out.N; {
			if err := pb.ReadBatch(in); err != nil {
				t.Fatal(err)
			}
			n += in.N
			in.ReleaseFrames()
		}
	}
	for i := 0; i < 10; i++ {
		cycle()
	}
	if allocs := testing.AllocsPerRun(50, cycle); allocs != 0 {
		t.Fatalf("%.1f allocations per batch of 32 frames", allocs)
	}
}
