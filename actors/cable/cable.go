// Package cable joins two endpoints into a cable: what one side reads, the
// other side writes, in both directions. Each direction is a reader
// goroutine, an optional chain of stage actors (filters) and an egress actor
// that owns the destination endpoint; blocking destinations get a writer
// goroutine behind the egress actor. Cables ask for backpressure instead of
// drops: each direction has a fixed number of credits, a reader takes one
// before it reads a batch and the writer returns it once the batch is
// written, so a slow side slows the other one down and nothing is lost. A
// datagram destination (a switch's socket) whose queue is full is waited
// for on the reader's goroutine, until it takes nothing for port.StallTimeout.
package cable

import (
	"errors"
	"io"
	"os"
	"sync"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/govde/govde/actors/dispatch"
	"github.com/govde/govde/actors/mailbox"
	"github.com/govde/govde/actors/port"
	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
)

// DefaultCredits is the number of batches in flight per direction.
const DefaultCredits = 32

// Options configure a cable.
type Options struct {
	// Credits per direction (default DefaultCredits).
	Credits int
	// AtoB and BtoA wrap the egress PID of their direction with stage actors
	// (filters): each function receives the PID the stage must send its
	// output to and returns the PID the reader should send to. Stages
	// forward every *frames.Batch (or release it) and never block.
	AtoB, BtoA func(next *actor.PID) *actor.PID
	// OnFrames, if set, is called by each reader with the batch it read
	// before it is sent on (e.g. for vde_plug's IP logging); it must not
	// keep the batch.
	OnFramesA, OnFramesB func(*frames.Batch)
}

// Cable is a running cable between endpoints A and B.
type Cable struct {
	sys   *actor.ActorSystem
	a, b  transports.Endpoint
	pids  []*actor.PID
	done  chan struct{}
	once  sync.Once
	errMu sync.Mutex
	err   error
	wg    sync.WaitGroup
}

// credit is returned with every batch the egress finished with.
type egress struct {
	ep      transports.Endpoint
	pw      transports.PartialWriter // set for datagram endpoints that can wait for room
	stalled bool                     // pw took nothing for port.StallTimeout: drop until it takes a whole batch
	credits chan struct{}
	q       chan *frames.Batch // nil when writes never block
	fail    func(error)
}

// write writes b to a PartialWriter destination: what the socket cannot
// take at once is waited for (this runs on the reader's goroutine, so the
// reader stops reading: the other side is paced instead of losing frames).
func (e *egress) write(b *frames.Batch) error {
	n, err := e.pw.TryWriteBatch(b, 0)
	if err != nil || n == b.N {
		e.stalled = false
		return err
	}
	if e.stalled {
		e.pw.DropFrames(b.N - n)
		return nil
	}
	n, err = port.WaitWrite(e.pw, b, n)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		e.stalled = true
		e.pw.DropFrames(b.N - n)
		return nil
	}
	return err
}

func (e *egress) Receive(ctx actor.Context) {
	switch b := ctx.Message().(type) {
	case *frames.Batch:
		if e.q != nil {
			e.q <- b // never blocks: at most cap(credits) batches exist
			return
		}
		var err error
		if e.pw != nil {
			err = e.write(b)
		} else {
			err = e.ep.WriteBatch(b)
		}
		if err != nil {
			e.fail(err)
		}
		b.Release()
		e.credits <- struct{}{}
	case *actor.Stopping:
		if e.q != nil {
			close(e.q)
		}
	}
}

// New starts a cable between a and b. The cable owns both endpoints and
// closes them when it ends.
func New(sys *actor.ActorSystem, a, b transports.Endpoint, opt Options) *Cable {
	if opt.Credits <= 0 {
		opt.Credits = DefaultCredits
	}
	c := &Cable{sys: sys, a: a, b: b, done: make(chan struct{})}
	c.direction(a, b, opt.Credits, opt.AtoB, opt.OnFramesA)
	c.direction(b, a, opt.Credits, opt.BtoA, opt.OnFramesB)
	return c
}

func (c *Cable) direction(src, dst transports.Endpoint, credits int, wrap func(*actor.PID) *actor.PID, onFrames func(*frames.Batch)) {
	cr := make(chan struct{}, credits)
	for i := 0; i < credits; i++ {
		cr <- struct{}{}
	}
	e := &egress{ep: dst, credits: cr, fail: c.fail}
	if pw, ok := dst.(transports.PartialWriter); ok && transports.WritesNeverBlock(dst) {
		e.pw = pw
	}
	if !transports.WritesNeverBlock(dst) {
		e.q = make(chan *frames.Batch, credits)
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			for b := range e.q {
				if err := dst.WriteBatch(b); err != nil {
					c.fail(err)
				}
				b.Release()
				cr <- struct{}{}
			}
		}()
	}
	props := actor.PropsFromProducer(func() actor.Actor { return e },
		actor.WithMailbox(mailbox.Producer(credits*2, func(m any) {
			if b, ok := m.(*frames.Batch); ok {
				b.Release()
			}
		})),
		actor.WithDispatcher(dispatch.Sync(64)))
	pid := c.sys.Root.Spawn(props)
	c.pids = append(c.pids, pid)
	target := pid
	if wrap != nil {
		target = wrap(pid)
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		root := c.sys.Root
		for {
			select {
			case <-cr:
			case <-c.done:
				return
			}
			b := frames.GetBatch()
			err := src.ReadBatch(b)
			if err == nil {
				transports.Complete(b, src)
			}
			if b.N > 0 {
				if onFrames != nil {
					onFrames(b)
				}
				root.Send(target, b)
			} else {
				b.Recycle()
				cr <- struct{}{}
			}
			if err != nil {
				c.fail(err)
				return
			}
		}
	}()
}

// fail records the first error and ends the cable.
func (c *Cable) fail(err error) {
	c.errMu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.errMu.Unlock()
	c.once.Do(func() {
		close(c.done)
		c.a.Close()
		c.b.Close()
	})
}

// Done is closed when either side ended (EOF, error or Close).
func (c *Cable) Done() <-chan struct{} { return c.done }

// Err returns why the cable ended: nil when a side reached EOF or the cable
// was closed, the first error otherwise.
func (c *Cable) Err() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	if errors.Is(c.err, io.EOF) || errors.Is(c.err, transports.ErrClosed) {
		return nil
	}
	return c.err
}

// Close ends the cable, closes both endpoints and waits for its goroutines
// and actors.
func (c *Cable) Close() {
	c.fail(transports.ErrClosed)
	for _, p := range c.pids {
		c.sys.Root.StopFuture(p).Wait()
	}
	c.wg.Wait()
}
