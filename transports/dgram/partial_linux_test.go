package dgram

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
)

// seqBatch returns a batch of n 100-byte frames numbered from seq.
func seqBatch(seq, n int) *frames.Batch {
	b := frames.GetBatch()
	for i := 0; i < n; i++ {
		p := frame(100, 0)
		p[14], p[15] = byte((seq+i)>>8), byte(seq+i)
		b.Add(frames.GetCopy(p))
	}
	return b
}

// With a peer that does not read, WritePartial stops at the first frame
// the socket refuses and drops nothing; WriteWait waits until the
// deadline and says so.
func TestTryAndWaitWriteWithFullPeer(t *testing.T) {
	a, _ := pair(t, Config{})
	b := seqBatch(0, frames.BatchSize)
	defer b.Release()
	// a socketpair's queue is bounded by the send buffer: fill it
	n, sent := b.N, 0
	for i := 0; n == b.N; i++ {
		var err error
		if n, err = a.WritePartial(b, 0); err != nil {
			t.Fatal(err)
		}
		sent += n
		if i > 10000 {
			t.Fatal("the socket never filled")
		}
	}
	if st := a.Stats(); st.WriteAgain != 0 || st.WriteFrames != uint64(sent) {
		t.Fatalf("WritePartial counted drops: %+v", st)
	}
	m, err := a.WritePartial(b, n)
	if err != nil || m != n {
		t.Fatalf("second WritePartial = %d, %v; want %d, nil", m, err, n)
	}
	start := time.Now()
	m, err = a.WriteWait(b, n, time.Now().Add(100*time.Millisecond))
	if !errors.Is(err, os.ErrDeadlineExceeded) || m != n {
		t.Fatalf("WriteWait = %d, %v; want %d, deadline exceeded", m, err, n)
	}
	if d := time.Since(start); d < 80*time.Millisecond || d > 2*time.Second {
		t.Fatalf("WriteWait returned after %v, want about 100ms", d)
	}
	a.AddWriteDrops(b.N - m)
	if w, _ := a.Drops(); w != uint64(b.N-m) {
		t.Fatalf("Drops = %d, want %d", w, b.N-m)
	}
	// The deadline is cleared afterwards: a later WritePartial is not
	// refused by a stale deadline.
	if _, err := a.WritePartial(b, m); err != nil {
		t.Fatal(err)
	}
}

// A writer waiting for room delivers every frame, in order, to a slow
// reader: nothing is dropped.
func TestWaitWriteDeliversAllInOrder(t *testing.T) {
	a, b := pair(t, Config{})
	const total = 5000
	done := make(chan error, 1)
	go func() {
		for seq := 0; seq < total; seq += frames.BatchSize {
			n := min(frames.BatchSize, total-seq)
			out := seqBatch(seq, n)
			m, err := a.WriteWait(out, 0, time.Time{})
			out.Release()
			if err != nil || m != n {
				done <- errors.New("short wait write")
				return
			}
		}
		done <- nil
	}()
	in := frames.GetBatch()
	defer in.Release()
	want := 0
	for want < total {
		if err := readWithin(t, b, in, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		for _, f := range in.Slice() {
			p := f.Bytes()
			if got := int(p[14])<<8 | int(p[15]); got != want&0xffff {
				t.Fatalf("frame %d arrived as %d", want, got)
			}
			want++
		}
		in.ReleaseFrames()
		if want%500 == 0 {
			time.Sleep(time.Millisecond) // a slow reader now and then
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if w, _ := a.Drops(); w != 0 {
		t.Fatalf("%d frames dropped", w)
	}
}

// Close unblocks a writer waiting without deadline.
func TestCloseUnblocksWaitWrite(t *testing.T) {
	a, _ := pair(t, Config{})
	out := seqBatch(0, frames.BatchSize)
	defer out.Release()
	done := make(chan error, 1)
	go func() {
		for {
			if _, err := a.WriteWait(out, 0, time.Time{}); err != nil {
				done <- err
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond)
	a.Close()
	select {
	case err := <-done:
		if !errors.Is(err, transports.ErrClosed) {
			t.Fatalf("WriteWait after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock WriteWait")
	}
}

// ReadMore never waits: nothing on an empty socket, what is there
// otherwise.
func TestReadMoreDoesNotWait(t *testing.T) {
	a, b := pair(t, Config{})
	in := frames.GetBatch()
	defer in.Release()
	start := time.Now()
	if n, err := b.ReadMore(in); n != 0 || err != nil {
		t.Fatalf("ReadMore on an empty socket = %d, %v", n, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("ReadMore waited %v", d)
	}
	out := seqBatch(0, 5)
	defer out.Release()
	if err := a.WriteBatch(out); err != nil {
		t.Fatal(err)
	}
	if n, err := b.ReadMore(in); n != 5 || err != nil || in.N != 5 {
		t.Fatalf("ReadMore = %d, %v (batch %d), want 5", n, err, in.N)
	}
	b.Close()
	if _, err := b.ReadMore(in); err != transports.ErrClosed {
		t.Fatalf("ReadMore after Close: %v", err)
	}
}

// A socket offers few receive buffers until its traffic fills them: an idle
// port holds minSlots buffers, a busy one grows to a whole batch per read.
func TestReceiveSlotsGrowWithTraffic(t *testing.T) {
	a, b := pair(t, Config{})
	out := seqBatch(0, frames.BatchSize)
	defer out.Release()
	for i := 0; i < 3; i++ {
		if err := a.WriteBatch(out); err != nil {
			t.Fatal(err)
		}
	}
	in := frames.GetBatch()
	defer in.Release()
	var sizes []int
	for total := 0; total < 3*frames.BatchSize; {
		if err := readWithin(t, b, in, time.Second); err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, in.N)
		total += in.N
		in.ReleaseFrames()
	}
	want := []int{minSlots, 2 * minSlots, 4 * minSlots, frames.BatchSize}
	for i, w := range want {
		if i >= len(sizes) || sizes[i] != w {
			t.Fatalf("read sizes %v, want %v first", sizes, want)
		}
	}
	// an idle socket: one read offered (the reader parks with its slots
	// filled) holds minSlots buffers
	c, _ := pair(t, Config{})
	empty := frames.GetBatch()
	defer empty.Release()
	c.rmu.Lock()
	c.prepare(empty)
	held := 0
	for _, s := range c.slots {
		if s != nil {
			held++
		}
	}
	c.rmu.Unlock()
	if held != minSlots {
		t.Fatalf("an idle socket holds %d receive buffers, want %d", held, minSlots)
	}
}

// ReadMore is on the hot path of every TCP burst: it allocates nothing.
func TestReadMoreDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	_, b := pair(t, Config{})
	in := frames.GetBatch()
	defer in.Release()
	if n := testing.AllocsPerRun(100, func() { b.ReadMore(in) }); n != 0 {
		t.Fatalf("ReadMore allocates %v times per call", n)
	}
}
