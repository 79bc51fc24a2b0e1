package dgram

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
)

// Compile-time interface checks.
var (
	_ transports.Endpoint    = (*Conn)(nil)
	_ transports.NonBlocking = (*Conn)(nil)
	_ transports.DropCounter = (*Conn)(nil)
)

func pair(t testing.TB, cfg Config) (*Conn, *Conn) {
	t.Helper()
	a, b, err := NewPair(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// frame returns a recognisable frame of n bytes.
func frame(n int, seed byte) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = seed + byte(i*7)
	}
	return p
}

// rawSend writes p as one datagram on c's socket, bypassing WriteBatch.
func rawSend(t testing.TB, c *Conn, p []byte) {
	t.Helper()
	err := c.Control(func(fd int) error {
		_, err := unix.Write(fd, p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// readWithin runs ReadBatch with a watchdog.
func readWithin(t testing.TB, c *Conn, b *frames.Batch, d time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- c.ReadBatch(b) }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		c.Close()
		<-done
		t.Fatalf("ReadBatch did not return within %v", d)
		return nil
	}
}

func TestRoundTripSizes(t *testing.T) {
	a, b := pair(t, Config{})
	sizes := []int{14, 60, 64, 1000, 1514, 1518}
	out := frames.GetBatch()
	defer out.Release()
	for i, n := range sizes {
		out.Add(frames.GetCopy(frame(n, byte(i))))
	}
	if err := a.WriteBatch(out); err != nil {
		t.Fatal(err)
	}
	in := frames.GetBatch()
	defer in.Release()
	for in.N < len(sizes) {
		if err := readWithin(t, b, in, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if in.N != len(sizes) {
		t.Fatalf("got %d frames, want %d", in.N, len(sizes))
	}
	for i, n := range sizes {
		if got := in.Frames[i].Bytes(); !bytes.Equal(got, frame(n, byte(i))) {
			t.Errorf("frame %d (%d bytes) differs: got %d bytes", i, n, len(got))
		}
	}
	st := a.Stats()
	if st.WriteFrames != uint64(len(sizes)) {
		t.Errorf("WriteFrames = %d", st.WriteFrames)
	}
	if st := b.Stats(); st.ReadFrames != uint64(len(sizes)) || st.Truncated != 0 {
		t.Errorf("read stats %+v", st)
	}
}

func TestTruncation(t *testing.T) {
	a, b := pair(t, Config{MaxFrame: 1518})
	for _, n := range []int{1519, 1600, 9000} {
		rawSend(t, a, frame(n, 3))
	}
	in := frames.GetBatch()
	defer in.Release()
	for in.N < 3 {
		if err := readWithin(t, b, in, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	for i, f := range in.Slice() {
		if f.Len() != 1518 {
			t.Errorf("frame %d: len %d, want 1518", i, f.Len())
		}
		if !bytes.Equal(f.Bytes(), frame(9000, 3)[:1518]) {
			t.Errorf("frame %d: content differs", i)
		}
	}
	if st := b.Stats(); st.Truncated != 3 {
		t.Errorf("Truncated = %d, want 3", st.Truncated)
	}
}

func TestJumboMaxFrame(t *testing.T) {
	a, b := pair(t, Config{MaxFrame: 9234})
	rawSend(t, a, frame(9000, 1))
	rawSend(t, a, frame(9300, 2))
	in := frames.GetBatch()
	defer in.Release()
	for in.N < 2 {
		if err := readWithin(t, b, in, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if in.Frames[0].Len() != 9000 || !bytes.Equal(in.Frames[0].Bytes(), frame(9000, 1)) {
		t.Errorf("9000-byte frame: got %d bytes", in.Frames[0].Len())
	}
	if in.Frames[1].Len() != 9234 {
		t.Errorf("9300-byte frame: got %d bytes, want 9234", in.Frames[1].Len())
	}
}

func TestRuntsAndEmptyIgnored(t *testing.T) {
	var mu sync.Mutex
	var empties []uint64
	a, b := pair(t, Config{OnEmpty: func(s uint64) {
		mu.Lock()
		empties = append(empties, s)
		mu.Unlock()
	}})
	rawSend(t, a, frame(13, 1))
	rawSend(t, a, nil)
	rawSend(t, a, frame(1, 1))
	rawSend(t, a, nil)
	rawSend(t, a, frame(14, 9))
	in := frames.GetBatch()
	defer in.Release()
	if err := readWithin(t, b, in, time.Second); err != nil {
		t.Fatal(err)
	}
	if in.N != 1 || !bytes.Equal(in.Frames[0].Bytes(), frame(14, 9)) {
		t.Fatalf("got %d frames, want only the 14-byte one", in.N)
	}
	st := b.Stats()
	if st.Runts != 2 || st.Empty != 2 {
		t.Errorf("Runts=%d Empty=%d, want 2 and 2", st.Runts, st.Empty)
	}
	if _, r := b.Drops(); r != 4 {
		t.Errorf("read drops = %d, want 4", r)
	}
	mu.Lock()
	defer mu.Unlock()
	// Both empties came in one recvmmsg: one report, nothing suppressed.
	if len(empties) != 1 || empties[0] != 1 {
		t.Errorf("OnEmpty calls = %v, want [1]", empties)
	}
}

func TestReadOnlyRunts(t *testing.T) {
	// A ReadBatch that receives only runts keeps waiting.
	a, b := pair(t, Config{})
	in := frames.GetBatch()
	defer in.Release()
	done := make(chan error, 1)
	go func() { done <- b.ReadBatch(in) }()
	rawSend(t, a, frame(5, 0))
	select {
	case err := <-done:
		t.Fatalf("ReadBatch returned %v after a runt", err)
	case <-time.After(50 * time.Millisecond):
	}
	rawSend(t, a, frame(20, 0))
	select {
	case err := <-done:
		if err != nil || in.N != 1 {
			t.Fatalf("err=%v N=%d", err, in.N)
		}
	case <-time.After(time.Second):
		t.Fatal("ReadBatch did not return")
	}
}

func TestReadFillsFreeSpaceOnly(t *testing.T) {
	a, b := pair(t, Config{})
	for i := 0; i < 10; i++ {
		rawSend(t, a, frame(60, byte(i)))
	}
	in := frames.GetBatch()
	defer in.Release()
	for in.N < frames.BatchSize-3 {
		in.Add(frames.GetCopy(frame(14, 0)))
	}
	if err := readWithin(t, b, in, time.Second); err != nil {
		t.Fatal(err)
	}
	if in.N != frames.BatchSize {
		t.Fatalf("N = %d, want full batch", in.N)
	}
	// Full batch: immediate nil.
	if err := b.ReadBatch(in); err != nil {
		t.Fatal(err)
	}
	in.ReleaseFrames()
	if err := readWithin(t, b, in, time.Second); err != nil {
		t.Fatal(err)
	}
	if in.N != 7 || !bytes.Equal(in.Frames[0].Bytes(), frame(60, 3)) {
		t.Fatalf("N = %d, want the 7 remaining frames in order", in.N)
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	_, b := pair(t, Config{})
	in := frames.GetBatch()
	defer in.Release()
	done := make(chan error, 1)
	go func() { done <- b.ReadBatch(in) }()
	time.Sleep(20 * time.Millisecond)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, transports.ErrClosed) {
			t.Fatalf("err = %v, want ErrClosed", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Close did not unblock ReadBatch")
	}
	if err := b.ReadBatch(in); !errors.Is(err, transports.ErrClosed) {
		t.Fatalf("ReadBatch after Close: %v", err)
	}
	out := frames.GetBatch()
	out.Add(frames.GetCopy(frame(60, 0)))
	defer out.Release()
	if err := b.WriteBatch(out); !errors.Is(err, transports.ErrClosed) {
		t.Fatalf("WriteBatch after Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestEAGAINDropCounting(t *testing.T) {
	a, b := pair(t, Config{})
	const total = 3000
	out := frames.GetBatch()
	defer out.Release()
	for i := 0; i < frames.BatchSize; i++ {
		out.Add(frames.GetCopy(frame(1500, byte(i))))
	}
	sent := 0
	start := time.Now()
	for sent < total {
		n := frames.BatchSize
		if total-sent < n {
			for out.N > total-sent {
				out.N--
				out.Frames[out.N].Release()
				out.Frames[out.N] = nil
			}
			n = out.N
		}
		if err := a.WriteBatch(out); err != nil {
			t.Fatal(err)
		}
		sent += n
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("writes took %v: WriteBatch must not block", d)
	}
	st := a.Stats()
	if st.WriteAgain == 0 {
		t.Fatalf("no EAGAIN drops with a non-reading peer: %+v", st)
	}
	if st.WriteFrames+st.WriteAgain != total {
		t.Fatalf("accepted %d + dropped %d != %d", st.WriteFrames, st.WriteAgain, total)
	}
	if w, _ := a.Drops(); w != st.WriteAgain {
		t.Fatalf("Drops write = %d, want %d", w, st.WriteAgain)
	}
	// Everything accepted is delivered.
	in := frames.GetBatch()
	defer in.Release()
	got := uint64(0)
	for got < st.WriteFrames {
		if err := readWithin(t, b, in, time.Second); err != nil {
			t.Fatal(err)
		}
		got += uint64(in.N)
		in.ReleaseFrames()
	}
	if got != st.WriteFrames {
		t.Fatalf("delivered %d, accepted %d", got, st.WriteFrames)
	}
	t.Logf("%d frames accepted, %d dropped (EAGAIN)", st.WriteFrames, st.WriteAgain)
}

func TestWriteErrorsReportedNotFatal(t *testing.T) {
	var mu sync.Mutex
	type rep struct {
		err error
		s   uint64
	}
	var reps []rep
	a, b := pair(t, Config{ErrorInterval: time.Hour, OnWriteError: func(err error, s uint64) {
		mu.Lock()
		reps = append(reps, rep{err, s})
		mu.Unlock()
	}})
	b.Close() // peer gone
	out := frames.GetBatch()
	defer out.Release()
	for i := 0; i < 5; i++ {
		out.Add(frames.GetCopy(frame(60, byte(i))))
	}
	for i := 0; i < 3; i++ {
		if err := a.WriteBatch(out); err != nil {
			t.Fatalf("WriteBatch returned %v; send errors must not be fatal", err)
		}
	}
	st := a.Stats()
	if st.WriteErrors != 15 {
		t.Fatalf("WriteErrors = %d, want 15", st.WriteErrors)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reps) != 1 {
		t.Fatalf("%d reports, want 1 (rate-limited): %v", len(reps), reps)
	}
	if !errors.Is(reps[0].err, unix.ECONNREFUSED) && !errors.Is(reps[0].err, unix.ENOTCONN) {
		t.Fatalf("reported %v", reps[0].err)
	}
	if reps[0].s != 4 {
		t.Fatalf("first report suppressed=%d, want 4 (5 failed frames in the batch)", reps[0].s)
	}
}

func TestRateLimiter(t *testing.T) {
	r := rateLimiter{interval: time.Second}
	t0 := time.Unix(1000, 0)
	if ok, s := r.allow(t0, 1); !ok || s != 0 {
		t.Fatalf("first: %v %d", ok, s)
	}
	if ok, _ := r.allow(t0.Add(100*time.Millisecond), 3); ok {
		t.Fatal("second within interval allowed")
	}
	if ok, s := r.allow(t0.Add(1100*time.Millisecond), 2); !ok || s != 4 {
		t.Fatalf("third: %v %d, want true 4", ok, s)
	}
}

func TestConcurrentReadWriteClose(t *testing.T) {
	a, b := pair(t, Config{})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(2)
	go func() {
		defer wg.Done()
		out := frames.GetBatch()
		defer out.Release()
		for i := 0; i < 8; i++ {
			out.Add(frames.GetCopy(frame(100, byte(i))))
		}
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := a.WriteBatch(out); err != nil {
				return
			}
			if err := b.WriteBatch(out); err != nil {
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		in := frames.GetBatch()
		defer in.Release()
		for {
			if err := b.ReadBatch(in); err != nil {
				return
			}
			in.ReleaseFrames()
		}
	}()
	time.Sleep(50 * time.Millisecond)
	b.Close()
	a.Close()
	close(stop)
	wg.Wait()
}

func TestZeroAllocsPerBatch(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	for _, size := range []int{64, 1500} {
		a, b := pair(t, Config{})
		out := frames.GetBatch()
		for i := 0; i < frames.BatchSize; i++ {
			out.Add(frames.GetCopy(frame(size, byte(i))))
		}
		in := frames.GetBatch()
		cycle := func() {
			if err := a.WriteBatch(out); err != nil {
				t.Fatal(err)
			}
			for got := 0; got < frames.BatchSize; {
				if err := b.ReadBatch(in); err != nil {
					t.Fatal(err)
				}
				got += in.N
				in.ReleaseFrames()
			}
		}
		for i := 0; i < 10; i++ {
			cycle() // warm the pools
		}
		if n := testing.AllocsPerRun(200, cycle); n != 0 {
			t.Errorf("size %d: %v allocations per 64-frame write+read, want 0", size, n)
		}
		out.Release()
		in.Release()
	}
}

// queued writes 64-byte frames to a's peer, which never reads, until the
// socket refuses them, and returns how many it took.
func queued(t *testing.T, a *Conn) uint64 {
	t.Helper()
	for i := 0; i < 100000; i++ {
		b := frames.GetBatch()
		for j := 0; j < frames.BatchSize; j++ {
			b.Add(frames.GetCopy(frame(64, byte(j))))
		}
		err := a.WriteBatch(b)
		b.Release()
		if err != nil {
			t.Fatal(err)
		}
		if a.Stats().WriteAgain > 0 {
			return a.Stats().WriteFrames
		}
	}
	t.Fatal("the socket never refused a frame")
	return 0
}

func TestSendBuffer(t *testing.T) {
	def, _ := pair(t, Config{})
	big, _ := pair(t, Config{SendBuffer: DataSendBuffer})
	var got, was int
	big.Control(func(fd int) (err error) {
		got, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF)
		return err
	})
	def.Control(func(fd int) (err error) {
		was, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF)
		return err
	})
	if got <= was {
		t.Fatalf("SO_SNDBUF %d with SendBuffer %d, %d without", got, DataSendBuffer, was)
	}
	d, n := queued(t, def), queued(t, big)
	t.Logf("SO_SNDBUF %d -> %d: a reader's queue holds %d -> %d frames of 64 bytes", was, got, d, n)
	if n < d*3/2 {
		t.Fatalf("a never-reading peer took %d frames with SendBuffer, %d without", n, d)
	}
}
