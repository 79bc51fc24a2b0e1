package bench

import (
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/govde/govde/actors/fabric"
	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
)

// sink is an endpoint that counts what is written to it and never produces
// frames; ReadBatch blocks until Close.
type sink struct {
	frames atomic.Int64
	done   chan struct{}
}

func newSink() *sink { return &sink{done: make(chan struct{})} }

func (s *sink) ReadBatch(*frames.Batch) error { <-s.done; return transports.ErrClosed }
func (s *sink) WriteBatch(b *frames.Batch) error {
	s.frames.Add(int64(b.N))
	return nil
}
func (s *sink) WriteNeverBlocks() bool { return true }
func (s *sink) Close() error {
	select {
	case <-s.done:
	default:
		close(s.done)
	}
	return nil
}
func (s *sink) Describe() string { return "sink" }

func quiet() *actor.ActorSystem {
	return actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
}

type fabricRig struct {
	sys   *actor.ActorSystem
	fab   *actor.PID
	sinks []*sink
}

func newFabricRig(tb testing.TB, ports int) *fabricRig {
	r := &fabricRig{sys: quiet()}
	r.fab = fabric.New(r.sys, fabric.Config{NumPorts: ports + 1, Logf: func(string, ...any) {}})
	for i := 0; i < ports; i++ {
		s := newSink()
		res, err := r.sys.Root.RequestFuture(r.fab, &fabric.AttachEndpoint{Endpoint: s, UID: -1}, time.Second).Result()
		if err != nil || res.(*fabric.Attached).Err != nil {
			tb.Fatalf("attach: %v %v", err, res)
		}
		r.sinks = append(r.sinks, s)
	}
	return r
}

func (r *fabricRig) close() {
	r.sys.Root.Stop(r.fab)
	r.sys.Shutdown()
}

func (r *fabricRig) delivered() int64 {
	var t int64
	for _, s := range r.sinks {
		t += s.frames.Load()
	}
	return t
}

func (r *fabricRig) dropped() int64 {
	res, _ := r.sys.Root.RequestFuture(r.fab, &fabric.GetStats{}, time.Second).Result()
	var t int64
	for _, p := range res.(*fabric.Stats).Ports {
		t += int64(p.Counters.DropQueue)
	}
	return t
}

func ethFrame(size int, dst, src byte) []byte {
	p := make([]byte, size)
	if dst == 0xff {
		copy(p, frames.Broadcast[:])
	} else {
		copy(p, []byte{2, 0, 0, 0, 0, dst})
	}
	copy(p[6:], []byte{2, 0, 0, 0, 0, src})
	p[12], p[13] = 0x08, 0x00
	return p
}

// send injects one batch of n copies of tmpl as if read on port.
func (r *fabricRig) send(port int, tmpl []byte, n int) {
	b := frames.GetBatch()
	for i := 0; i < n; i++ {
		f := frames.Get(len(tmpl))
		f.SetLen(copy(f.Space(), tmpl))
		b.Add(f)
	}
	b.Port = port
	r.sys.Root.Send(r.fab, b)
}

// BenchmarkFabric measures the in-process switching path: batches from the
// benchmark goroutine into the fabric actor (synchronized dispatcher) and on
// to port actors (worker pool) whose endpoints count frames. One op is one
// frame; frames/s and allocs/op are per frame.
func BenchmarkFabric(b *testing.B) {
	for _, size := range []int{64, 1500} {
		for _, batch := range []int{1, 32} {
			b.Run(fmt.Sprintf("unicast/size=%d/batch=%d", size, batch), func(b *testing.B) {
				benchFabric(b, 2, size, batch, false)
			})
		}
		b.Run(fmt.Sprintf("flood8/size=%d/batch=32", size), func(b *testing.B) {
			benchFabric(b, 8, size, 32, true)
		})
	}
}

func benchFabric(b *testing.B, ports, size, batch int, flood bool) {
	r := newFabricRig(b, ports)
	defer r.close()
	// learn both MACs
	r.send(1, ethFrame(size, 0xff, 1), 1)
	r.send(2, ethFrame(size, 0xff, 2), 1)
	for r.delivered() < int64(2*(ports-1)) {
		time.Sleep(time.Millisecond)
	}
	tmpl := ethFrame(size, 2, 1)
	receivers := r.sinks[1:2]
	if flood {
		tmpl = ethFrame(size, 0xff, 1)
		receivers = r.sinks[1:]
	}
	base := make([]int64, len(receivers))
	for i, s := range receivers {
		base[i] = s.frames.Load()
	}
	// progress is what the slowest receiver got since the start
	progress := func() int64 {
		m := int64(-1)
		for i, s := range receivers {
			if d := s.frames.Load() - base[i]; m < 0 || d < m {
				m = d
			}
		}
		return m
	}
	window := int64(128 * batch) // frames in flight at most: half a port mailbox
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	sent := int64(0)
	for sent < int64(b.N) {
		n := batch
		if rem := int64(b.N) - sent; rem < int64(n) {
			n = int(rem)
		}
		for sent-progress() > window {
			// flow control for the benchmark only: never overrun the queues
		}
		r.send(1, tmpl, n)
		sent += int64(n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for progress() < sent && time.Now().Before(deadline) {
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	if d := r.dropped(); d != 0 {
		b.Fatalf("%d frames dropped", d)
	}
}
