package stream

import (
	"bytes"
	"io"
	"testing"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
)

func TestWriteEncodesWithOneWrite(t *testing.T) {
	fs := [][]byte{frame(14, 1), frame(60, 2), frame(1518, 3), frame(1, 4), {}}
	b := batchOf(fs...)
	defer b.Release()
	var w countWriter
	ep := New(zeroReader{}, &w, Options{})
	if err := ep.WriteBatch(b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w.Bytes(), encode(fs...)) {
		t.Fatalf("wrote %x…, want %x…", head(w.Bytes()), head(encode(fs...)))
	}
	if len(w.writes) != 1 {
		t.Fatalf("%d Write calls, want 1", len(w.writes))
	}
	// The caller keeps its frames.
	for i, f := range b.Slice() {
		if f.Refs() != 1 || !bytes.Equal(f.Bytes(), fs[i]) {
			t.Fatalf("frame %d changed: refs %d", i, f.Refs())
		}
	}
}

func TestWriteFullBatchOfStandardFramesIsOneWrite(t *testing.T) {
	var fs [][]byte
	for i := range frames.BatchSize {
		fs = append(fs, frame(frames.MaxStd, byte(i)))
	}
	b := batchOf(fs...)
	defer b.Release()
	var w countWriter
	if err := New(zeroReader{}, &w, Options{}).WriteBatch(b); err != nil {
		t.Fatal(err)
	}
	if len(w.writes) != 1 || !bytes.Equal(w.Bytes(), encode(fs...)) {
		t.Fatalf("%d Write calls of %v bytes", len(w.writes), w.writes)
	}
}

func TestWriteJumboBatchUsesFewWrites(t *testing.T) {
	var fs [][]byte
	for i := range frames.BatchSize {
		fs = append(fs, frame(9000+i, byte(i)))
	}
	fs = append(fs[:63], frame(frames.MaxJumbo, 9))
	b := batchOf(fs...)
	defer b.Release()
	var w countWriter
	if err := New(zeroReader{}, &w, Options{}).WriteBatch(b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w.Bytes(), encode(fs...)) {
		t.Fatal("jumbo batch encoded wrongly")
	}
	total := len(encode(fs...))
	if max := (total+WriteBufSize-1)/WriteBufSize + 1; len(w.writes) > max {
		t.Fatalf("%d Write calls %v for %d bytes", len(w.writes), w.writes, total)
	}
	for _, n := range w.writes {
		if n > WriteBufSize {
			t.Fatalf("a Write of %d bytes", n)
		}
	}
}

func TestWriteDropsOversize(t *testing.T) {
	ok1, big, ok2 := frame(1518, 1), frame(1519, 2), frame(64, 3)
	b := batchOf(ok1, big, ok2, frame(frames.MaxJumbo, 4))
	defer b.Release()
	var w countWriter
	ep := New(zeroReader{}, &w, Options{MaxFrame: 1518})
	if err := ep.WriteBatch(b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w.Bytes(), encode(ok1, ok2)) {
		t.Fatal("oversize frames were written")
	}
	if wd, rd := ep.Drops(); wd != 2 || rd != 0 {
		t.Fatalf("Drops() = %d, %d", wd, rd)
	}
	if st := ep.Stats(); st.TxOversize != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestWriteEmptyBatchWritesNothing(t *testing.T) {
	b := frames.GetBatch()
	defer b.Release()
	var w countWriter
	if err := New(zeroReader{}, &w, Options{}).WriteBatch(b); err != nil || len(w.writes) != 0 {
		t.Fatalf("err %v, writes %v", err, w.writes)
	}
}

// shortWriter accepts one byte less than asked without an error.
type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return len(p) - 1, nil }

func TestWriteErrors(t *testing.T) {
	b := batchOf(frame(60, 0))
	defer b.Release()
	if err := New(zeroReader{}, errWriter{errBoom}, Options{}).WriteBatch(b); err != errBoom {
		t.Fatalf("err %v, want %v", err, errBoom)
	}
	if err := New(zeroReader{}, shortWriter{}, Options{}).WriteBatch(b); err != io.ErrShortWrite {
		t.Fatalf("err %v, want io.ErrShortWrite", err)
	}
	ep := New(zeroReader{}, errWriter{errBoom}, Options{})
	ep.Close()
	if err := ep.WriteBatch(b); err != transports.ErrClosed {
		t.Fatalf("after Close: %v", err)
	}
}

func TestWriteThenReadRoundTrip(t *testing.T) {
	var fs [][]byte
	for i := range 200 {
		fs = append(fs, frame(frames.MinFrame+i*37%3000, byte(i)))
	}
	var pipe bytes.Buffer
	w := New(zeroReader{}, &pipe, Options{})
	for i := 0; i < len(fs); i += 50 {
		b := batchOf(fs[i:min(i+50, len(fs))]...)
		if err := w.WriteBatch(b); err != nil {
			t.Fatal(err)
		}
		b.Release()
	}
	got, err := readAll(t, New(&pipe, io.Discard, Options{}))
	if err != io.EOF {
		t.Fatal(err)
	}
	if e := sameFrames(got, fs); e != nil {
		t.Fatal(e)
	}
}

func TestDescribeAndMaxFrame(t *testing.T) {
	if d := New(zeroReader{}, io.Discard, Options{}).Describe(); d != "stream" {
		t.Errorf("default Describe %q", d)
	}
	if d := New(zeroReader{}, io.Discard, Options{Describe: "stdio"}).Describe(); d != "stdio" {
		t.Errorf("Describe %q", d)
	}
	for _, tc := range []struct{ in, want int }{{0, 65535}, {-1, 65535}, {70000, 65535}, {9236, 9236}} {
		if got := New(zeroReader{}, io.Discard, Options{MaxFrame: tc.in}).MaxFrame(); got != tc.want {
			t.Errorf("MaxFrame(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
	if transports.WritesNeverBlock(New(zeroReader{}, io.Discard, Options{})) {
		t.Error("a stream endpoint claims non-blocking writes")
	}
}
