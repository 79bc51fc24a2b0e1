package dgram

import (
	"testing"

	"github.com/govde/govde/frames"
)

// benchWriteRead measures one 64-frame WriteBatch (one sendmmsg) plus the
// ReadBatch calls (normally one recvmmsg) that receive it, per op, over a
// socketpair(AF_UNIX, SOCK_DGRAM). ns/frame is the op time divided by 64;
// -benchmem must show 0 allocs/op.
func benchWriteRead(b *testing.B, size int) {
	x, y, err := NewPair(Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	defer y.Close()
	out := frames.GetBatch()
	defer out.Release()
	for i := 0; i < frames.BatchSize; i++ {
		out.Add(frames.GetCopy(frame(size, byte(i))))
	}
	in := frames.GetBatch()
	defer in.Release()
	b.SetBytes(int64(size * frames.BatchSize))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := x.WriteBatch(out); err != nil {
			b.Fatal(err)
		}
		for got := 0; got < frames.BatchSize; {
			if err := y.ReadBatch(in); err != nil {
				b.Fatal(err)
			}
			got += in.N
			in.ReleaseFrames()
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*frames.BatchSize), "ns/frame")
	if st := x.Stats(); st.WriteAgain != 0 {
		b.Fatalf("%d drops", st.WriteAgain)
	}
}

func BenchmarkWriteRead64(b *testing.B)   { benchWriteRead(b, 64) }
func BenchmarkWriteRead1500(b *testing.B) { benchWriteRead(b, 1500) }

// benchRead measures ReadBatch alone: each op's 64 datagrams are queued
// with WriteBatch outside the timer.
func benchRead(b *testing.B, size int) {
	x, y, err := NewPair(Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	defer y.Close()
	out := frames.GetBatch()
	defer out.Release()
	for i := 0; i < frames.BatchSize; i++ {
		out.Add(frames.GetCopy(frame(size, byte(i))))
	}
	in := frames.GetBatch()
	defer in.Release()
	b.SetBytes(int64(size * frames.BatchSize))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if err := x.WriteBatch(out); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for got := 0; got < frames.BatchSize; {
			if err := y.ReadBatch(in); err != nil {
				b.Fatal(err)
			}
			got += in.N
			in.ReleaseFrames()
		}
	}
}

func BenchmarkRead64(b *testing.B)   { benchRead(b, 64) }
func BenchmarkRead1500(b *testing.B) { benchRead(b, 1500) }

// benchWrite measures WriteBatch alone; the queued datagrams are drained
// outside the timer.
func benchWrite(b *testing.B, size int) {
	x, y, err := NewPair(Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	defer y.Close()
	out := frames.GetBatch()
	defer out.Release()
	for i := 0; i < frames.BatchSize; i++ {
		out.Add(frames.GetCopy(frame(size, byte(i))))
	}
	in := frames.GetBatch()
	defer in.Release()
	b.SetBytes(int64(size * frames.BatchSize))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := x.WriteBatch(out); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		for got := 0; got < frames.BatchSize; {
			if err := y.ReadBatch(in); err != nil {
				b.Fatal(err)
			}
			got += in.N
			in.ReleaseFrames()
		}
		b.StartTimer()
	}
}

func BenchmarkWrite64(b *testing.B)   { benchWrite(b, 64) }
func BenchmarkWrite1500(b *testing.B) { benchWrite(b, 1500) }
