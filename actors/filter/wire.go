package filter

import (
	"errors"
	"io"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/govde/govde/actors/dispatch"
	"github.com/govde/govde/actors/mailbox"
	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
)

// Defaults of Options.
const (
	DefaultCredits     = 8
	DefaultMaxInflight = 8
	// DefaultMaxQueueBytes bounds each direction's delay queue: beyond it
	// the stage stops reading its input (backpressure) instead of growing
	// without limit as the original does.
	DefaultMaxQueueBytes = 32 << 20
)

// Path is one direction of a wire: frames read from From are filtered and
// written to To. From and To may be the same endpoint (a monodirectional
// stream filter reads stdin and writes stdout through one endpoint).
type Path struct {
	From, To transports.Endpoint
}

// Options configure a Wire. The zero value is usable.
type Options struct {
	// Params are the initial parameters of each direction (RL is ignored
	// by a monodirectional wire).
	Params [2]Params
	// NoFifo allows reordering (wirefilter -N).
	NoFifo bool
	// Seed seeds the random sources (direction d uses stream d), making a
	// run reproducible with the same input.
	Seed uint64
	// Blink, if not nil, receives one datagram per packet sent. The wire
	// does not close it.
	Blink *Blink
	// Credits is the number of input batches in flight per direction
	// (default DefaultCredits).
	Credits int
	// MaxInflight is the number of output batches queued for a blocking
	// destination's writer goroutine (default DefaultMaxInflight).
	MaxInflight int
	// MaxQueueBytes bounds each delay queue (default DefaultMaxQueueBytes).
	MaxQueueBytes int
}

// Wire is a running wirefilter: one stage actor per direction between
// endpoints, each with a reader goroutine and (for blocking destinations)
// a writer goroutine. It owns its endpoints and closes them when it ends.
//
// Flow control: each direction's reader holds Credits credits and takes one
// per batch it reads; the stage returns it once the batch is handled,
// unless the speed limit, a backed-up destination or a full delay queue
// makes the reader wait. Nothing is dropped for lack of room except what
// the parameters (loss, MTU, channel buffer) drop.
//
// Methods are safe for concurrent use. Configure and Stats are control
// calls (a request to the stage actor, bounded by a timeout).
type Wire struct {
	sys    *actor.ActorSystem
	start  time.Time
	stages [2]*stage
	pids   [2]*actor.PID
	ndirs  int
	eps    []transports.Endpoint

	done    chan struct{}
	once    sync.Once
	errMu   sync.Mutex
	err     error
	readers sync.WaitGroup
	writers sync.WaitGroup
	closed  sync.Once
}

// ErrStopped is returned by control calls after the wire ended.
var ErrStopped = errors.New("wire stopped")

// New starts a wire on sys. lr is required; rl with a nil From makes the
// wire monodirectional (only LR; blink datagrams then say "--").
func New(sys *actor.ActorSystem, lr, rl Path, opt Options) (*Wire, error) {
	if lr.From == nil || lr.To == nil {
		return nil, errors.New("filter: the LR path needs both endpoints")
	}
	if (rl.From == nil) != (rl.To == nil) {
		return nil, errors.New("filter: the RL path needs both endpoints or none")
	}
	if opt.Credits <= 0 {
		opt.Credits = DefaultCredits
	}
	if opt.MaxInflight <= 0 {
		opt.MaxInflight = DefaultMaxInflight
	}
	if opt.MaxQueueBytes <= 0 {
		opt.MaxQueueBytes = DefaultMaxQueueBytes
	}
	w := &Wire{sys: sys, start: time.Now(), done: make(chan struct{}), ndirs: 1}
	paths := []Path{lr}
	if rl.From != nil {
		paths = append(paths, rl)
		w.ndirs = 2
	}
	for _, p := range paths {
		for _, ep := range []transports.Endpoint{p.From, p.To} {
			if !containsEP(w.eps, ep) {
				w.eps = append(w.eps, ep)
			}
		}
	}
	for i, p := range paths {
		d := Dir(i)
		s := &stage{
			w: w, dir: d, label: d.String(), p: opt.Params[d], fifo: !opt.NoFifo,
			rng: newRNG(opt.Seed, uint64(d)), maxQueue: opt.MaxQueueBytes,
			dst: p.To, direct: transports.WritesNeverBlock(p.To), maxInflight: opt.MaxInflight,
			credits: make(chan struct{}, opt.Credits), tickMsg: &tick{}, writtenMsg: &written{},
			blink: opt.Blink,
		}
		if w.ndirs == 1 {
			s.label = "--"
		}
		for j := 0; j < opt.Credits; j++ {
			s.credits <- struct{}{}
		}
		if !s.direct {
			s.egress = make(chan *frames.Batch, opt.MaxInflight)
		}
		credits := s.credits
		props := actor.PropsFromProducer(func() actor.Actor { return s },
			actor.WithMailbox(mailbox.Producer(2*(opt.Credits+opt.MaxInflight)+64, func(m any) {
				if b, ok := m.(*frames.Batch); ok {
					b.Release()
					select {
					case credits <- struct{}{}:
					default:
					}
				}
			})),
			actor.WithDispatcher(dispatch.Sync(64)))
		w.pids[d] = sys.Root.Spawn(props)
		s.self = w.pids[d]
		w.stages[d] = s
	}
	for i, p := range paths {
		s := w.stages[i]
		if s.egress != nil {
			w.writers.Add(1)
			go w.write(s, p.To)
		}
		w.readers.Add(1)
		go w.read(s, p.From)
	}
	return w, nil
}

func containsEP(eps []transports.Endpoint, ep transports.Endpoint) bool {
	for _, e := range eps {
		if e == ep {
			return true
		}
	}
	return false
}

// read is a direction's reader goroutine.
func (w *Wire) read(s *stage, src transports.Endpoint) {
	defer w.readers.Done()
	root := w.sys.Root
	for {
		select {
		case <-s.credits:
		case <-w.done:
			return
		}
		b := frames.GetBatch()
		err := src.ReadBatch(b)
		if b.N > 0 {
			root.Send(s.self, b)
		} else {
			b.Recycle()
			s.credits <- struct{}{}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				root.Send(s.self, &inputEnded{})
			} else {
				w.fail(err)
			}
			return
		}
	}
}

// write is a blocking destination's writer goroutine.
func (w *Wire) write(s *stage, dst transports.Endpoint) {
	defer w.writers.Done()
	root := w.sys.Root
	for b := range s.egress {
		err := dst.WriteBatch(b)
		b.Release()
		if err != nil {
			w.fail(err)
		}
		root.Send(s.self, s.writtenMsg)
	}
}

// directionDone ends the wire after a direction's input ended and its
// output drained (the original exits on EOF of either input).
func (w *Wire) directionDone() { w.fail(nil) }

// fail records the first error (nil for a normal end) and ends the wire.
func (w *Wire) fail(err error) {
	w.once.Do(func() {
		w.errMu.Lock()
		w.err = err
		w.errMu.Unlock()
		close(w.done)
		for _, ep := range w.eps {
			ep.Close()
		}
	})
}

// Dirs returns 1 for a monodirectional wire, 2 otherwise.
func (w *Wire) Dirs() int { return w.ndirs }

// Done is closed when the wire ended: an input reached EOF (after what was
// read before it has been written), an endpoint failed, or Close.
func (w *Wire) Done() <-chan struct{} { return w.done }

// Err returns why the wire ended: nil for EOF or Close.
func (w *Wire) Err() error {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	if errors.Is(w.err, transports.ErrClosed) || errors.Is(w.err, io.EOF) {
		return nil
	}
	return w.err
}

const controlTimeout = 5 * time.Second

// Configure replaces direction d's parameters and FIFO mode. It blocks
// until the stage applied them.
func (w *Wire) Configure(d Dir, p Params, fifo bool) error {
	if int(d) >= w.ndirs || d < 0 {
		return errors.New("filter: no such direction")
	}
	select {
	case <-w.done:
		return ErrStopped
	default:
	}
	_, err := w.sys.Root.RequestFuture(w.pids[d], &configure{p: p, fifo: fifo}, controlTimeout).Result()
	return err
}

// Stats returns direction d's counters and queue state.
func (w *Wire) Stats(d Dir) (Stats, error) {
	if int(d) >= w.ndirs || d < 0 {
		return Stats{}, errors.New("filter: no such direction")
	}
	select {
	case <-w.done:
		return Stats{}, ErrStopped
	default:
	}
	r, err := w.sys.Root.RequestFuture(w.pids[d], &statsRequest{}, controlTimeout).Result()
	if err != nil {
		return Stats{}, err
	}
	return *r.(*Stats), nil
}

// Close ends the wire, closes its endpoints, stops its actors (releasing
// queued frames) and waits for its goroutines. A reader blocked in an
// endpoint whose Close does not interrupt reads delays Close until that
// read returns.
func (w *Wire) Close() {
	w.fail(transports.ErrClosed)
	w.closed.Do(func() {
		w.readers.Wait()
		for d := 0; d < w.ndirs; d++ {
			w.sys.Root.StopFuture(w.pids[d]).Wait()
		}
		w.writers.Wait()
	})
}
