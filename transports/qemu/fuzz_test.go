package qemu

import (
	"bytes"
	"testing"

	"github.com/govde/govde/frames"
)

// parseAll feeds in to a reader in pieces of the given sizes (cycled) and
// returns the frames and the error, if any.
func parseAll(in []byte, pieces []byte, max int) ([][]byte, error) {
	var r reader
	r.buf = make([]byte, len(in)+1)
	var got [][]byte
	for i, k := 0, 0; i < len(in); k++ {
		n := 1
		if len(pieces) > 0 {
			n = int(pieces[k%len(pieces)])%64 + 1
		}
		n = min(n, len(in)-i)
		r.pos, r.end = 0, copy(r.buf, in[i:i+n])
		i += n
		for r.pos < r.end {
			b := frames.GetBatch()
			err := r.parse(b, max)
			for _, f := range b.Slice() {
				got = append(got, append([]byte(nil), f.Bytes()...))
			}
			b.Release()
			if err != nil {
				return got, err
			}
		}
	}
	r.reset()
	return got, nil
}

// However the stream is cut into reads, the frames are the same.
func FuzzReaderSplits(f *testing.F) {
	f.Add(framed(eth(60, 1), nil, []byte{1, 2}, eth(100, 2)), []byte{1})
	f.Add([]byte{0, 0, 0, 20, 1, 2, 3}, []byte{3, 200})
	f.Add([]byte{0, 1, 0, 0, 9}, []byte{})
	f.Fuzz(func(t *testing.T, in, pieces []byte) {
		const max = 1000
		whole, werr := parseAll(in, nil, max)
		split, serr := parseAll(in, pieces, max)
		if (werr == nil) != (serr == nil) || len(whole) != len(split) {
			t.Fatalf("byte by byte: %d frames, %v; in pieces: %d frames, %v", len(whole), werr, len(split), serr)
		}
		for i := range whole {
			if !bytes.Equal(whole[i], split[i]) || len(whole[i]) < frames.MinFrame || len(whole[i]) > max {
				t.Fatalf("frame %d differs", i)
			}
		}
	})
}

func FuzzSplitAddr(f *testing.F) {
	for _, s := range []string{"/tmp/x", "@a", "127.0.0.1:5", "::1:5", "h:", ":", "", "a:99999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		network, addr, err := splitAddr(s, "x")
		if err != nil {
			return
		}
		if network != "unix" && network != "tcp" || addr == "" {
			t.Fatalf("%q: %q %q", s, network, addr)
		}
	})
}
