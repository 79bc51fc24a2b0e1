package stream

import (
	"io"
	"testing"

	"github.com/govde/govde/frames"
)

// loopReader serves data over and over, filling every Read completely, so
// frames straddle reads at ever-changing offsets.
type loopReader struct {
	data []byte
	off  int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], l.data[l.off:])
		n += c
		l.off = (l.off + c) % len(l.data)
	}
	return n, nil
}

// streamOf returns the encoding of count frames of size bytes.
func streamOf(size, count int) []byte {
	var fs [][]byte
	for i := range count {
		fs = append(fs, frame(size, byte(i)))
	}
	return encode(fs...)
}

func TestReadZeroAllocsPerFrame(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops buffers at random under -race")
	}
	for _, size := range []int{64, 1500, 9000} {
		ep := New(&loopReader{data: streamOf(size, 97)}, io.Discard, Options{})
		b := frames.GetBatch()
		allocs := testing.AllocsPerRun(1000, func() {
			if err := ep.ReadBatch(b); err != nil {
				t.Fatal(err)
			}
			b.ReleaseFrames()
		})
		b.Release()
		if allocs != 0 {
			t.Errorf("%d-byte frames: %v allocations per ReadBatch", size, allocs)
		}
	}
}

func TestWriteZeroAllocsPerFrame(t *testing.T) {
	for _, size := range []int{64, 1500, 9000} {
		var fs [][]byte
		for i := range frames.BatchSize {
			fs = append(fs, frame(size, byte(i)))
		}
		b := batchOf(fs...)
		ep := New(zeroReader{}, io.Discard, Options{})
		allocs := testing.AllocsPerRun(1000, func() {
			if err := ep.WriteBatch(b); err != nil {
				t.Fatal(err)
			}
		})
		b.Release()
		if allocs != 0 {
			t.Errorf("%d-byte frames: %v allocations per WriteBatch", size, allocs)
		}
	}
}

// Benchmarks report per frame: ns/op and allocs/op are per frame, MB/s
// counts frame bytes.

func benchmarkRead(b *testing.B, size int) {
	ep := New(&loopReader{data: streamOf(size, 97)}, io.Discard, Options{})
	batch := frames.GetBatch()
	defer batch.Release()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; {
		if err := ep.ReadBatch(batch); err != nil {
			b.Fatal(err)
		}
		n += batch.N
		batch.ReleaseFrames()
	}
}

func benchmarkWrite(b *testing.B, size int) {
	var fs [][]byte
	for i := range frames.BatchSize {
		fs = append(fs, frame(size, byte(i)))
	}
	batch := batchOf(fs...)
	defer batch.Release()
	ep := New(zeroReader{}, io.Discard, Options{})
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n += frames.BatchSize {
		if err := ep.WriteBatch(batch); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRead64(b *testing.B)    { benchmarkRead(b, 64) }
func BenchmarkRead1500(b *testing.B)  { benchmarkRead(b, 1500) }
func BenchmarkWrite64(b *testing.B)   { benchmarkWrite(b, 64) }
func BenchmarkWrite1500(b *testing.B) { benchmarkWrite(b, 1500) }
