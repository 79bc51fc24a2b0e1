// Package port is the egress side of a switch port: an actor that owns the
// port's endpoints and writes every batch the fabric sends it to each of
// them. Endpoints whose writes never block (datagram sockets) are written
// from the actor; the others get a writer goroutine fed through a bounded
// queue that drops (and counts) when full, so a slow endpoint never stalls
// the actor or the ports sharing its worker.
package port

import (
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/govde/govde/actors/dispatch"
	"github.com/govde/govde/actors/mailbox"
	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
)

// QueueLen is the number of batches a port's mailbox holds.
const QueueLen = 256

// writerQueue is the number of batches queued for one blocking endpoint.
const writerQueue = 64

// AddEndpoint and RemoveEndpoint change the port's endpoints (no reply).
type (
	AddEndpoint    struct{ Endpoint transports.Endpoint }
	RemoveEndpoint struct{ Endpoint transports.Endpoint }
)

// Stats are a port actor's drop counters, readable from any goroutine.
type Stats struct {
	// Queue counts frames dropped because the port's mailbox was full.
	Queue atomic.Uint64
	// Writer counts frames dropped because a blocking endpoint's queue was full.
	Writer atomic.Uint64
	// Errors counts frames lost to write errors.
	Errors atomic.Uint64
}

// Reset zeroes the counters.
func (s *Stats) Reset() {
	s.Queue.Store(0)
	s.Writer.Store(0)
	s.Errors.Store(0)
}

type target struct {
	ep transports.Endpoint
	q  chan *frames.Batch // nil for non-blocking endpoints
	bl *backlog           // for non-blocking endpoints that can wait for room
}

type portActor struct {
	stats   *Stats
	targets []target
}

// Props returns the props of a port actor running on pool. Frames refused
// by the full mailbox are released and counted in stats.
func Props(pool actor.Dispatcher, stats *Stats) *actor.Props {
	drop := func(m any) {
		if b, ok := m.(*frames.Batch); ok {
			stats.Queue.Add(uint64(b.N))
			b.Release()
		}
	}
	return actor.PropsFromProducer(func() actor.Actor { return &portActor{stats: stats} },
		actor.WithMailbox(mailbox.Producer(QueueLen, drop)),
		actor.WithDispatcher(pool))
}

// NewPool returns the worker pool port actors run on.
func NewPool(workers int) *dispatch.Pool { return dispatch.NewPool(workers, 1<<16, 64) }

func (p *portActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *frames.Batch:
		p.send(m)
	case *AddEndpoint:
		t := target{ep: m.Endpoint}
		if pw, ok := m.Endpoint.(transports.PartialWriter); ok && transports.WritesNeverBlock(m.Endpoint) {
			t.bl = newBacklog(pw)
		} else if !transports.WritesNeverBlock(m.Endpoint) {
			t.q = make(chan *frames.Batch, writerQueue)
			go writer(m.Endpoint, t.q, p.stats)
		}
		p.targets = append([]target{t}, p.targets...)
	case *RemoveEndpoint:
		for i, t := range p.targets {
			if t.ep == m.Endpoint {
				t.stop()
				p.targets = append(p.targets[:i], p.targets[i+1:]...)
				break
			}
		}
	case *actor.Stopping:
		for _, t := range p.targets {
			t.stop()
		}
		p.targets = nil
	}
}

func (p *portActor) send(b *frames.Batch) {
	for i := range p.targets {
		t := &p.targets[i]
		if t.bl != nil {
			if err := t.bl.send(b); err != nil && err != transports.ErrClosed {
				p.stats.Errors.Add(uint64(b.N))
			}
			continue
		}
		if t.q == nil {
			if err := t.ep.WriteBatch(b); err != nil && err != transports.ErrClosed {
				p.stats.Errors.Add(uint64(b.N))
			}
			continue
		}
		c := frames.GetBatch()
		for _, f := range b.Slice() {
			f.Retain(1)
			c.Add(f)
		}
		select {
		case t.q <- c:
		default:
			p.stats.Writer.Add(uint64(c.N))
			c.Release()
		}
	}
	b.Release()
}

func (t *target) stop() {
	if t.q != nil {
		close(t.q)
	}
	if t.bl != nil {
		t.bl.close()
	}
}

func writer(ep transports.Endpoint, q chan *frames.Batch, stats *Stats) {
	for b := range q {
		if err := ep.WriteBatch(b); err != nil && err != transports.ErrClosed {
			stats.Errors.Add(uint64(b.N))
		}
		b.Release()
	}
}
