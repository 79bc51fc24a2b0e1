package vxnet

import (
	"testing"

	"github.com/govde/govde/frames"
)

// BenchmarkSendReceive moves batches of frames (header prepended and
// stripped) through a loopback UDP socket pair: one WriteBatch and the
// ReadBatch calls that take the frames back per iteration. A batch stays
// well under the default socket receive buffer, so nothing is lost.
func BenchmarkSendReceive(b *testing.B) {
	for _, size := range []int{64, 1514, 9000} {
		b.Run(itoa(size), func(b *testing.B) {
			a, c := open(b, "127.0.0.1", false), open(b, "127.0.0.1", false)
			h := NewHeader(1)
			rx, err := NewReceiver([]*Socket{c}, 0, &countOnly{m: Match{Want: h, Exact: true}})
			if err != nil {
				b.Fatal(err)
			}
			defer rx.Close()
			tx := NewSender(a, h, 65499, nil)
			in := frames.GetBatch()
			for i := 0; i < 32 && (i+1)*size <= 64<<10; i++ {
				in.Add(frames.GetCopy(testFrame(size, byte(i))))
			}
			defer in.Release()
			out := frames.GetBatch()
			dst := &to{localPeer(c)}
			b.SetBytes(int64(size * in.N))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := tx.WriteBatch(in, dst); err != nil {
					b.Fatal(err)
				}
				for got := 0; got < in.N; {
					if err := rx.ReadBatch(out); err != nil {
						b.Fatal(err)
					}
					got += out.N
					out.ReleaseFrames()
				}
			}
			b.ReportMetric(float64(b.N*in.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

func itoa(n int) string {
	s := ""
	for {
		s = string(rune('0'+n%10)) + s
		n /= 10
		if n == 0 {
			return s
		}
	}
}
