package stream

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/govde/govde/frames"
)

// chunkReader returns its chunks one per Read (splitting a chunk only when
// p is too small), then err (io.EOF when nil).
type chunkReader struct {
	chunks [][]byte
	err    error
	reads  int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	c.reads++
	if len(c.chunks) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	if n < len(c.chunks[0]) {
		c.chunks[0] = c.chunks[0][n:]
	} else {
		c.chunks = c.chunks[1:]
	}
	return n, nil
}

// frame returns an n-byte test frame whose bytes depend on seed.
func frame(n int, seed byte) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = seed + byte(i*7)
	}
	return p
}

// record encodes one record with an explicit length header (which may lie).
func record(length int, body []byte) []byte {
	return append([]byte{byte(length >> 8), byte(length)}, body...)
}

// encode is the reference encoder.
func encode(fs ...[]byte) []byte {
	var out []byte
	for _, f := range fs {
		out = append(out, record(len(f), f)...)
	}
	return out
}

// readAll reads until an error, returning copies of the frames (released
// afterwards) and the final error.
func readAll(t testing.TB, ep *Endpoint) ([][]byte, error) {
	t.Helper()
	var out [][]byte
	b := frames.GetBatch()
	defer b.Release()
	for i := 0; ; i++ {
		if i > 1e6 {
			t.Fatal("ReadBatch does not terminate")
		}
		err := ep.ReadBatch(b)
		for _, f := range b.Slice() {
			if f.Len() < frames.MinFrame || f.Len() > ep.MaxFrame() {
				t.Fatalf("ReadBatch returned a %d-byte frame", f.Len())
			}
			out = append(out, append([]byte(nil), f.Bytes()...))
		}
		if err == nil && b.N == 0 {
			t.Fatal("ReadBatch returned nil without a frame")
		}
		b.ReleaseFrames()
		if err != nil {
			return out, err
		}
	}
}

func sameFrames(got, want [][]byte) error {
	if len(got) != len(want) {
		return fmt.Errorf("got %d frames %v, want %d %v", len(got), lens(got), len(want), lens(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			return fmt.Errorf("frame %d differs: got %d bytes %x…, want %d bytes %x…", i,
				len(got[i]), head(got[i]), len(want[i]), head(want[i]))
		}
	}
	return nil
}

func lens(fs [][]byte) []int {
	l := make([]int, len(fs))
	for i, f := range fs {
		l[i] = len(f)
	}
	return l
}

func head(p []byte) []byte { return p[:min(len(p), 8)] }

// errWriter fails every Write.
type errWriter struct{ err error }

func (w errWriter) Write([]byte) (int, error) { return 0, w.err }

var errBoom = errors.New("boom")

// countWriter records Write calls.
type countWriter struct {
	bytes.Buffer
	writes []int
}

func (w *countWriter) Write(p []byte) (int, error) {
	w.writes = append(w.writes, len(p))
	return w.Buffer.Write(p)
}

// batchOf returns a batch holding copies of fs; the caller releases it.
func batchOf(fs ...[]byte) *frames.Batch {
	b := frames.GetBatch()
	for _, f := range fs {
		if !b.Add(frames.GetCopy(f)) {
			panic("batchOf: too many frames")
		}
	}
	return b
}

func fmtSprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
