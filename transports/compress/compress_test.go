package compress

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports/stream"
)

// pipePair returns two ends of a bidirectional byte stream made of two
// real pipes, as a cable between two plugs is.
func pipePair(t *testing.T) (r1 io.Reader, w1 io.Writer, r2 io.Reader, w2 io.Writer) {
	t.Helper()
	ar, bw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	br, aw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ar.Close(); bw.Close(); br.Close(); aw.Close() })
	return ar, aw, br, bw
}

// compressible builds a frame whose payload looks like a text protocol.
func compressible(rng *rand.Rand, seq int) []byte {
	var b bytes.Buffer
	b.Write([]byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00})
	fmt.Fprintf(&b, "GET /index-%d.html HTTP/1.1\r\nHost: www.example.org\r\nUser-Agent: govde-test\r\nAccept: */*\r\n\r\n", seq%50)
	n := 40 + rng.IntN(1300)
	for b.Len() < n {
		b.WriteString("the quick brown fox jumps over the lazy dog; ")
	}
	return b.Bytes()[:n]
}

func endpoints(t *testing.T, a, b Algorithm) (*stream.Endpoint, *stream.Endpoint, *Stream, *Stream) {
	t.Helper()
	r1, w1, r2, w2 := pipePair(t)
	s1, err := New(r1, w1, a, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := New(r2, w2, b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return stream.New(s1, s1, stream.Options{}), stream.New(s2, s2, stream.Options{}), s1, s2
}

func TestRoundTripAndRatio(t *testing.T) {
	for _, alg := range []Algorithm{Zstd, S2} {
		e1, e2, s1, _ := endpoints(t, alg, alg)
		rng := rand.New(rand.NewPCG(1, 2))
		const n = 3000
		sent := make([][]byte, n)
		done := make(chan struct{})
		go func() {
			defer close(done)
			b := frames.GetBatch()
			for i := 0; i < n; i++ {
				sent[i] = compressible(rng, i)
				b.Add(frames.GetCopy(sent[i]))
				if b.Full() || i == n-1 {
					if err := e1.WriteBatch(b); err != nil {
						t.Error(err)
						return
					}
					b.ReleaseFrames()
				}
			}
		}()
		got := 0
		raw := 0
		for got < n {
			b := frames.GetBatch()
			if err := e2.ReadBatch(b); err != nil {
				t.Fatalf("%v: after %d frames: %v", alg, got, err)
			}
			for _, f := range b.Slice() {
				if !bytes.Equal(f.Bytes(), sent[got]) {
					t.Fatalf("%v: frame %d differs", alg, got)
				}
				raw += f.Len() + 2
				got++
			}
			b.Release()
		}
		<-done
		st := s1.Stats()
		if st.RawOut != uint64(raw) {
			t.Fatalf("%v: RawOut %d, frames carried %d bytes", alg, st.RawOut, raw)
		}
		ratio := float64(st.WireOut) / float64(st.RawOut)
		t.Logf("%v: %d frames, %d bytes of frames, %d bytes on the wire: ratio %.3f", alg, n, st.RawOut, st.WireOut, ratio)
		if st.WireOut >= st.RawOut/2 {
			t.Errorf("%v: a compressible stream took %d wire bytes for %d", alg, st.WireOut, st.RawOut)
		}
	}
}

// Each write is flushed: a lone frame arrives without more traffic.
func TestNothingHeldBack(t *testing.T) {
	for _, alg := range []Algorithm{Zstd, S2} {
		e1, e2, _, _ := endpoints(t, alg, alg)
		for i := 0; i < 3; i++ {
			f := compressible(rand.New(rand.NewPCG(uint64(i), 0)), i)
			b := frames.GetBatch()
			b.Add(frames.GetCopy(f))
			if err := e1.WriteBatch(b); err != nil {
				t.Fatal(err)
			}
			b.Release()
			got := make(chan []byte, 1)
			go func() {
				b := frames.GetBatch()
				if e2.ReadBatch(b) == nil && b.N == 1 {
					got <- append([]byte(nil), b.Frames[0].Bytes()...)
				}
				b.Release()
			}()
			select {
			case g := <-got:
				if !bytes.Equal(g, f) {
					t.Fatalf("%v: frame %d differs", alg, i)
				}
			case <-time.After(3 * time.Second):
				t.Fatalf("%v: frame %d held back", alg, i)
			}
		}
	}
}

// A compressed end facing a plain vdestream end: the compressed end fails
// with a clear error as soon as the plain end sends a frame; the plain end
// only ever sees the header, which its reader drops as a runt.
func TestPlainPeer(t *testing.T) {
	r1, w1, r2, w2 := pipePair(t)
	s, err := New(r1, w1, Zstd, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ours := stream.New(s, s, stream.Options{})
	plain := stream.New(r2, w2, stream.Options{})
	b := frames.GetBatch()
	b.Add(frames.GetCopy(bytes.Repeat([]byte{0x42}, 60)))
	if err := plain.WriteBatch(b); err != nil {
		t.Fatal(err)
	}
	b.Release()
	rb := frames.GetBatch()
	err = ours.ReadBatch(rb)
	rb.Release()
	if !errors.Is(err, ErrHandshake) || !strings.Contains(err.Error(), "plain vdestream data") {
		t.Fatalf("compressed end read: %v", err)
	}
	wb := frames.GetBatch()
	wb.Add(frames.GetCopy(bytes.Repeat([]byte{1}, 60)))
	if err := ours.WriteBatch(wb); !errors.Is(err, ErrHandshake) {
		t.Fatalf("compressed end write after a failed handshake: %v", err)
	}
	wb.Release()
	// The plain end got the 14-byte header: a 12-byte runt, dropped.
	w1.(*os.File).Close()
	pb := frames.GetBatch()
	if err := plain.ReadBatch(pb); err != io.EOF || pb.N != 0 {
		t.Fatalf("plain end: %d frames, %v", pb.N, err)
	}
	pb.Release()
	if st := plain.Stats(); st.RxRunts != 1 {
		t.Fatalf("plain end saw %+v", st)
	}
}

func TestMismatch(t *testing.T) {
	e1, e2, _, _ := endpoints(t, Zstd, S2)
	for _, e := range []*stream.Endpoint{e1, e2} {
		b := frames.GetBatch()
		err := e.ReadBatch(b)
		b.Release()
		if !errors.Is(err, ErrHandshake) || !strings.Contains(err.Error(), "the peer compresses with") {
			t.Fatalf("zstd against s2: %v", err)
		}
	}
}

func TestSilentPeerTimeout(t *testing.T) {
	r1, w1, _, _ := pipePair(t)
	s, err := New(r1, w1, S2, Options{Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Read(make([]byte, 10))
	if !errors.Is(err, ErrHandshake) || !strings.Contains(err.Error(), "within 100ms") {
		t.Fatalf("silent peer: %v", err)
	}
}

func TestPeerClosesBeforeHeader(t *testing.T) {
	r1, w1, _, w2 := pipePair(t)
	s, _ := New(r1, w1, Zstd, Options{})
	w2.(*os.File).Close()
	if _, err := s.Read(make([]byte, 10)); !errors.Is(err, ErrHandshake) {
		t.Fatalf("peer gone: %v", err)
	}
}

// Garbage after a good header is a clear error, never frames.
func TestCorruptStream(t *testing.T) {
	for _, alg := range []Algorithm{Zstd, S2} {
		r1, w1, _, w2 := pipePair(t)
		s, _ := New(r1, w1, alg, Options{})
		h := header(alg)
		w2.Write(h[:])
		w2.Write(bytes.Repeat([]byte{0xa5, 0x5a, 0xff, 0x00}, 64))
		w2.(*os.File).Close() // a length in the garbage may ask for more
		e := stream.New(s, s, stream.Options{})
		b := frames.GetBatch()
		err := e.ReadBatch(b)
		if b.N != 0 || err == nil || !strings.Contains(err.Error(), "corrupt") {
			t.Fatalf("%v: %d frames, %v", alg, b.N, err)
		}
		b.Release()
	}
}

func TestParseAlgorithm(t *testing.T) {
	for s, want := range map[string]Algorithm{"zstd": Zstd, "s2": S2} {
		if a, err := ParseAlgorithm(s); err != nil || a != want || a.String() != s {
			t.Fatalf("%q: %v %v", s, a, err)
		}
	}
	if _, err := ParseAlgorithm("gzip"); err == nil {
		t.Fatal("gzip accepted")
	}
}

// BenchmarkCompressedBatch writes batches of 64 compressible frames through
// a compressing stream endpoint into a discarding pipe reader.
func BenchmarkCompressedBatch(b *testing.B) {
	for _, alg := range []Algorithm{Zstd, S2} {
		b.Run(alg.String(), func(b *testing.B) {
			pr, pw := io.Pipe()
			hr, hw := io.Pipe()
			go func() { h := header(alg); hw.Write(h[:]) }()
			s, _ := New(hr, pw, alg, Options{})
			go io.Copy(io.Discard, pr)
			e := stream.New(s, s, stream.Options{})
			rng := rand.New(rand.NewPCG(3, 4))
			batch := frames.GetBatch()
			raw := 0
			for i := 0; i < frames.BatchSize; i++ {
				f := compressible(rng, i)
				raw += len(f)
				batch.Add(frames.GetCopy(f))
			}
			b.SetBytes(int64(raw))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := e.WriteBatch(batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecompressBatch reads batches of 64 compressible frames from a
// recorded compressed stream.
func BenchmarkDecompressBatch(b *testing.B) {
	for _, alg := range []Algorithm{Zstd, S2} {
		b.Run(alg.String(), func(b *testing.B) {
			var wire bytes.Buffer
			hr, hw := io.Pipe()
			go func() { h := header(alg); hw.Write(h[:]) }()
			w, _ := New(hr, &wire, alg, Options{})
			e := stream.New(w, w, stream.Options{})
			rng := rand.New(rand.NewPCG(3, 4))
			batch := frames.GetBatch()
			raw := 0
			for i := 0; i < frames.BatchSize; i++ {
				f := compressible(rng, i)
				raw += len(f)
				batch.Add(frames.GetCopy(f))
			}
			for i := 0; i < b.N+10; i++ {
				e.WriteBatch(batch)
			}
			data := wire.Bytes()
			h := header(alg)
			copy(data, h[:]) // the recorded header is our own: make it the peer's
			r, _ := New(bytes.NewReader(data), io.Discard, alg, Options{})
			d := stream.New(r, r, stream.Options{})
			in := frames.GetBatch()
			b.SetBytes(int64(raw))
			b.ReportAllocs()
			b.ResetTimer()
			got := 0
			for got < b.N*frames.BatchSize {
				if err := d.ReadBatch(in); err != nil {
					b.Fatal(err)
				}
				got += in.N
				in.ReleaseFrames()
			}
		})
	}
}
