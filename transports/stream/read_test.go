package stream

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
)

// splitStream is a multi-frame stream with a 0-length record and a runt in
// the middle, and the frames a correct reader returns from it.
func splitStream() (stream []byte, want [][]byte) {
	a, b, c, d := frame(64, 1), frame(14, 2), frame(100, 3), frame(60, 4)
	var s []byte
	s = append(s, encode(a)...)
	s = append(s, 0, 0) // empty record
	s = append(s, encode(b, c)...)
	s = append(s, record(5, frame(5, 9))...) // runt
	s = append(s, encode(d)...)
	return s, [][]byte{a, b, c, d}
}

func TestReadSplitAtEveryPosition(t *testing.T) {
	s, want := splitStream()
	for i := 0; i <= len(s); i++ {
		ep := New(&chunkReader{chunks: [][]byte{s[:i], s[i:]}}, io.Discard, Options{})
		got, err := readAll(t, ep)
		if err != io.EOF {
			t.Fatalf("split at %d: err %v, want io.EOF", i, err)
		}
		if e := sameFrames(got, want); e != nil {
			t.Fatalf("split at %d: %v", i, e)
		}
		if st := ep.Stats(); st != (Stats{RxRunts: 1}) {
			t.Fatalf("split at %d: stats %+v", i, st)
		}
	}
}

func TestReadSplitAtEveryPairOfPositions(t *testing.T) {
	s, want := splitStream()
	for i := 0; i <= len(s); i++ {
		for j := i; j <= len(s); j++ {
			ep := New(&chunkReader{chunks: [][]byte{s[:i], s[i:j], s[j:]}}, io.Discard, Options{})
			got, err := readAll(t, ep)
			if err != io.EOF {
				t.Fatalf("split at %d,%d: err %v", i, j, err)
			}
			if e := sameFrames(got, want); e != nil {
				t.Fatalf("split at %d,%d: %v", i, j, e)
			}
		}
	}
}

func TestReadOneByteAtATime(t *testing.T) {
	s, want := splitStream()
	var chunks [][]byte
	for i := range s {
		chunks = append(chunks, s[i:i+1])
	}
	got, err := readAll(t, New(&chunkReader{chunks: chunks}, io.Discard, Options{}))
	if err != io.EOF {
		t.Fatal(err)
	}
	if e := sameFrames(got, want); e != nil {
		t.Fatal(e)
	}
}

func TestReadTable(t *testing.T) {
	a, b := frame(60, 1), frame(1514, 2)
	jumbo := frame(9000, 3)
	tests := []struct {
		name     string
		max      int
		chunks   [][]byte
		want     [][]byte
		wantErr  error
		stats    Stats
		logLines int
	}{
		{name: "empty stream", wantErr: io.EOF},
		{name: "only zero-length records", chunks: [][]byte{{0, 0, 0, 0}, {0}, {0}}, wantErr: io.EOF},
		{name: "zero-length records between frames",
			chunks: [][]byte{append(append(append([]byte{0, 0}, encode(a)...), 0, 0, 0, 0), encode(b)...)},
			want:   [][]byte{a, b}, wantErr: io.EOF},
		{name: "runts dropped and counted",
			chunks: [][]byte{append(append(record(1, []byte{1}), record(13, frame(13, 0))...), encode(frame(14, 5))...)},
			want:   [][]byte{frame(14, 5)}, wantErr: io.EOF, stats: Stats{RxRunts: 2}},
		{name: "runt split across reads",
			chunks: [][]byte{record(10, frame(4, 0)), frame(6, 0), encode(a)},
			want:   [][]byte{a}, wantErr: io.EOF, stats: Stats{RxRunts: 1}},
		{name: "jumbo frame", chunks: [][]byte{encode(jumbo)}, want: [][]byte{jumbo}, wantErr: io.EOF},
		{name: "largest frame", chunks: [][]byte{encode(frame(65535, 4))}, want: [][]byte{frame(65535, 4)}, wantErr: io.EOF},
		{name: "frame at MaxFrame", max: 1514, chunks: [][]byte{encode(b)}, want: [][]byte{b}, wantErr: io.EOF},
		{name: "oversize discards the rest of the read, next write is fine", max: 9236,
			chunks: [][]byte{
				append(append(encode(a), record(0x2415, frame(20, 7))...), encode(b)...),
				encode(b, a),
			},
			want: [][]byte{a, b, a}, wantErr: io.EOF, stats: Stats{RxOversize: 1}, logLines: 1},
		{name: "oversize header split across reads", max: 1514,
			chunks:  [][]byte{append(encode(a), 0x24), {0x15, 1, 2, 3}, encode(a)},
			want:    [][]byte{a, a},
			wantErr: io.EOF, stats: Stats{RxOversize: 1}, logLines: 1},
		{name: "above MaxFrame by one", max: 1513, chunks: [][]byte{encode(b), encode(a)},
			want: [][]byte{a}, wantErr: io.EOF, stats: Stats{RxOversize: 1}, logLines: 1},
		{name: "garbage never wedges", max: 9236,
			chunks: [][]byte{
				bytes.Repeat([]byte{0xff}, 1000), bytes.Repeat([]byte{0xab}, 3), {0xff},
				bytes.Repeat([]byte{0x80, 0}, 5000), encode(a, b),
			},
			want: [][]byte{a, b}, wantErr: io.EOF, stats: Stats{RxOversize: 3}, logLines: 1},
		{name: "EOF mid-frame", chunks: [][]byte{append(encode(a), record(100, frame(50, 1))...)},
			want: [][]byte{a}, wantErr: io.EOF, stats: Stats{RxTruncated: 1}},
		{name: "EOF mid-header", chunks: [][]byte{append(encode(a), 0)},
			want: [][]byte{a}, wantErr: io.EOF},
		{name: "EOF right after a header", chunks: [][]byte{append(encode(a), 0, 60)},
			want: [][]byte{a}, wantErr: io.EOF, stats: Stats{RxTruncated: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lines []string
			logf := func(format string, args ...any) { lines = append(lines, format) }
			ep := New(&chunkReader{chunks: tt.chunks}, io.Discard, Options{MaxFrame: tt.max, Logf: logf})
			got, err := readAll(t, ep)
			if err != tt.wantErr {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if e := sameFrames(got, tt.want); e != nil {
				t.Fatal(e)
			}
			if st := ep.Stats(); st != tt.stats {
				t.Errorf("stats %+v, want %+v", st, tt.stats)
			}
			if len(lines) != tt.logLines {
				t.Errorf("%d log lines %q, want %d", len(lines), lines, tt.logLines)
			}
			w, r := ep.Drops()
			if w != 0 || r != tt.stats.RxRunts+tt.stats.RxOversize+tt.stats.RxTruncated {
				t.Errorf("Drops() = %d, %d for stats %+v", w, r, tt.stats)
			}
			// The end is sticky.
			b := frames.GetBatch()
			defer b.Release()
			if err := ep.ReadBatch(b); err != tt.wantErr || b.N != 0 {
				t.Errorf("after the end: err %v with %d frames", err, b.N)
			}
		})
	}
}

func TestReadOversizeLogLine(t *testing.T) {
	var line string
	logf := func(format string, args ...any) {
		line = strings.TrimSpace(fmtSprintf(format, args...))
	}
	body := append(record(0x2415, frame(30, 0)), encode(frame(20, 1))...)
	ep := New(&chunkReader{chunks: [][]byte{body}}, io.Discard, Options{MaxFrame: 9236, Logf: logf, Describe: "stdin"})
	if _, err := readAll(t, ep); err != io.EOF {
		t.Fatal(err)
	}
	want := "stdin: packet length error: length 9237 exceeds the maximum 9236, 52 buffered bytes discarded"
	if line != want {
		t.Fatalf("log line\n%q, want\n%q", line, want)
	}
}

func TestReadOversizeLogIsRateLimited(t *testing.T) {
	var lines []string
	logf := func(format string, args ...any) { lines = append(lines, fmtSprintf(format, args...)) }
	now := time.Unix(1000, 0)
	bad := record(0xffff, nil)
	var chunks [][]byte
	for range 10 {
		chunks = append(chunks, bad)
	}
	r := &chunkReader{chunks: chunks}
	ep := New(r, io.Discard, Options{MaxFrame: 1518, Logf: logf})
	ep.rd.log.now = func() time.Time { return now }
	b := frames.GetBatch()
	defer b.Release()
	if err := ep.ReadBatch(b); err != io.EOF {
		t.Fatal(err)
	}
	if len(lines) != 1 || ep.Stats().RxOversize != 10 {
		t.Fatalf("lines %q, stats %+v", lines, ep.Stats())
	}
	now = now.Add(logInterval)
	r.chunks = [][]byte{bad}
	ep.rd.err = nil
	if err := ep.ReadBatch(b); err != io.EOF {
		t.Fatal(err)
	}
	if len(lines) != 2 || !strings.Contains(lines[1], "(9 similar errors not logged)") {
		t.Fatalf("lines %q", lines)
	}
}

func TestReadBatchOverflowCarriesOver(t *testing.T) {
	var fs [][]byte
	for i := range 100 {
		fs = append(fs, frame(60+i, byte(i)))
	}
	r := &chunkReader{chunks: [][]byte{encode(fs...)}}
	ep := New(r, io.Discard, Options{})
	b := frames.GetBatch()
	defer b.Release()

	if err := ep.ReadBatch(b); err != nil || b.N != frames.BatchSize {
		t.Fatalf("first call: %v, %d frames", err, b.N)
	}
	var got [][]byte
	collect := func() {
		for _, f := range b.Slice() {
			got = append(got, append([]byte(nil), f.Bytes()...))
		}
		b.ReleaseFrames()
	}
	collect()
	// Partially filled batch: only the free space is used.
	for range 30 {
		b.Add(frames.GetCopy(frame(20, 0)))
	}
	if err := ep.ReadBatch(b); err != nil || b.N != frames.BatchSize {
		t.Fatalf("second call: %v, %d frames", err, b.N)
	}
	if r.reads != 1 {
		t.Fatalf("%d Read calls while frames were buffered", r.reads)
	}
	for _, f := range b.Frames[:30] { // the fillers come first
		if f.Len() != 20 {
			t.Fatalf("filler replaced by a %d-byte frame", f.Len())
		}
	}
	for _, f := range b.Frames[30:b.N] {
		got = append(got, append([]byte(nil), f.Bytes()...))
	}
	b.ReleaseFrames()
	if err := ep.ReadBatch(b); err != nil || b.N != 2 {
		t.Fatalf("third call: %v, %d frames", err, b.N)
	}
	collect()
	if err := ep.ReadBatch(b); err != io.EOF {
		t.Fatalf("fourth call: %v", err)
	}
	if e := sameFrames(got, fs); e != nil {
		t.Fatal(e)
	}
}

func TestReadFullBatchReturnsAtOnce(t *testing.T) {
	r := &chunkReader{chunks: [][]byte{encode(frame(60, 0))}}
	ep := New(r, io.Discard, Options{})
	b := frames.GetBatch()
	defer b.Release()
	for !b.Full() {
		b.Add(frames.GetCopy(frame(20, 0)))
	}
	if err := ep.ReadBatch(b); err != nil || r.reads != 0 {
		t.Fatalf("err %v, %d reads", err, r.reads)
	}
}

// dataErrReader returns data together with an error.
type dataErrReader struct {
	data []byte
	err  error
}

func (d *dataErrReader) Read(p []byte) (int, error) {
	n := copy(p, d.data)
	d.data = d.data[n:]
	return n, d.err
}

func TestReadErrorAfterData(t *testing.T) {
	a := frame(70, 1)
	ep := New(&dataErrReader{data: append(encode(a), 0, 80), err: errBoom}, io.Discard, Options{})
	got, err := readAll(t, ep)
	if err != errBoom {
		t.Fatalf("err %v", err)
	}
	if e := sameFrames(got, [][]byte{a}); e != nil {
		t.Fatal(e)
	}
}

// zeroReader always returns 0, nil.
type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestReadNoProgress(t *testing.T) {
	b := frames.GetBatch()
	defer b.Release()
	if err := New(zeroReader{}, io.Discard, Options{}).ReadBatch(b); err != io.ErrNoProgress {
		t.Fatalf("err %v", err)
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	pr, pw := io.Pipe()
	ep := New(pr, pw, Options{Closer: pr})
	done := make(chan error, 1)
	go func() {
		b := frames.GetBatch()
		defer b.Release()
		// A partial frame is pending when Close comes.
		done <- ep.ReadBatch(b)
	}()
	if _, err := pw.Write(record(100, frame(10, 0))); err != nil {
		t.Fatal(err)
	}
	if err := ep.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != transports.ErrClosed {
			t.Fatalf("ReadBatch after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock ReadBatch")
	}
	if err := ep.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	b := batchOf(frame(60, 0))
	defer b.Release()
	if err := ep.WriteBatch(b); err != transports.ErrClosed {
		t.Fatalf("WriteBatch after Close: %v", err)
	}
	if err := ep.ReadBatch(b); err != transports.ErrClosed {
		t.Fatalf("ReadBatch after Close: %v", err)
	}
}

type closeErr struct{ n int }

func (c *closeErr) Close() error { c.n++; return errors.New("close failed") }

func TestCloseOnceAndError(t *testing.T) {
	c := &closeErr{}
	ep := New(zeroReader{}, io.Discard, Options{Closer: c})
	e1, e2 := ep.Close(), ep.Close()
	if e1 == nil || e1 != e2 || c.n != 1 {
		t.Fatalf("Close: %v, %v, closer called %d times", e1, e2, c.n)
	}
}
