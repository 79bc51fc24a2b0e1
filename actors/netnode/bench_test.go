package netnode

import (
	"runtime"
	"testing"

	"github.com/govde/govde/frames"
)

// BenchmarkForward injects batches of 64 frames from the host into a node
// of each kind with two clients that count what they are sent, and waits
// for them: the actor's decision, the per-client batches and the port
// actors, per frame.
func BenchmarkForward(b *testing.B) {
	for _, k := range []Kind{Hub, Switch, Multi, Bonding} {
		b.Run(k.String(), func(b *testing.B) {
			n := New(Config{Kind: k})
			defer n.Close()
			c1, c2 := &counter{done: make(chan struct{})}, &counter{done: make(chan struct{})}
			n.Attach(c1, "1")
			n.Attach(c2, "2")
			in := frames.GetBatch()
			for i := 0; i < frames.BatchSize; i++ {
				dst := bcast
				if k == Switch {
					dst = mac(byte(i%2 + 0xa)) // unknown: flooded
				}
				in.Add(frames.GetCopy(eth(dst, H, "payload of a small frame, 60 bytes long......")))
			}
			defer in.Release()
			h := n.Host()
			var want int64
			per := int64(in.N)
			if k == Bonding {
				per /= 2
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				h.WriteBatch(in)
				want += per
				for c1.n.Load() < want || c2.n.Load() < want {
					runtime.Gosched()
				}
			}
			b.ReportMetric(float64(b.N*in.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}
