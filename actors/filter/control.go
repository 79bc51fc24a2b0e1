package filter

import (
	"sync"
	"syscall"
	"time"
)

// node is one state of the Markov chain: a full parameter set per
// direction and an optional name.
type node struct {
	name string
	vals [NumParams][2]Value
}

// Control is a wirefilter's configuration and the brain of its management
// console: the Markov chain of parameter sets (a single node unless
// markov-numnodes says otherwise), the FIFO mode, and the wire the current
// node's parameters are pushed to. Every change that touches the current
// node is sent to the wire's stage actors as a message; the stages never
// read Control.
//
// Control is safe for concurrent use: console sessions and the Markov
// timer serialise on its lock. Pushing to the wire blocks until the stages
// applied the change.
type Control struct {
	mu      sync.Mutex
	wire    *Wire
	ndirs   int
	nodes   []*node
	adj     []float64 // n×n edge weights (percent)
	current int
	mtime   float64 // Markov period, ms
	fifo    bool
	blink   *Blink
	rng     rng
	timer   *time.Timer
	gen     uint64
	logf    func(format string, args ...any)

	sessions map[*Session]struct{} // sessions with debug output on

	// onShutdown is called (once, without the lock) by the shutdown command.
	onShutdown func()
	shutOnce   sync.Once
	shutting   bool // shutdown ran: nothing more is executed or printed
}

// ControlOptions configure a Control.
type ControlOptions struct {
	// Dirs is 2 for a bidirectional filter, 1 for a monodirectional one
	// (what showinfo shows).
	Dirs int
	// NoFifo starts with reordering allowed (-N).
	NoFifo bool
	// Seed seeds the Markov chain's random source (stream 2 of the seed).
	Seed uint64
	// Blink is shown by showinfo.
	Blink *Blink
	// Logf receives errors of rc-file commands and other rare events.
	Logf func(format string, args ...any)
	// OnShutdown is run by the shutdown command.
	OnShutdown func()
}

// NewControl returns a Control with one node whose parameters are all zero.
func NewControl(opt ControlOptions) *Control {
	c := &Control{
		ndirs: opt.Dirs, mtime: 100, fifo: !opt.NoFifo, blink: opt.Blink,
		rng: newRNG(opt.Seed, 2), logf: opt.Logf, onShutdown: opt.OnShutdown,
		sessions: map[*Session]struct{}{},
	}
	if c.ndirs != 1 {
		c.ndirs = 2
	}
	if c.logf == nil {
		c.logf = func(string, ...any) {}
	}
	c.resize(1)
	return c
}

// Set applies one parsed value to parameter p (both directions unless the
// setting names one) on the setting's node. It returns EINVAL for a node
// that does not exist.
func (c *Control) Set(p Param, st Setting) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.set(p, st)
}

func (c *Control) set(p Param, st Setting) error {
	if p < 0 || p >= NumParams || st.Node < 0 || st.Node >= len(c.nodes) {
		return syscall.EINVAL
	}
	n := c.nodes[st.Node]
	if st.LR {
		n.vals[p][LR] = st.Value
	}
	if st.RL {
		n.vals[p][RL] = st.Value
	}
	if st.Node == c.current {
		return c.push()
	}
	return nil
}

// SetFifo turns FIFO mode on or off.
func (c *Control) SetFifo(on bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fifo = on
	return c.push()
}

// Params returns the current node's parameters of direction d.
func (c *Control) Params(d Dir) Params {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.params(c.current, d)
}

// Fifo reports whether FIFO mode is on.
func (c *Control) Fifo() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fifo
}

func (c *Control) params(n int, d Dir) Params {
	var p Params
	for i := range p {
		p[i] = c.nodes[n].vals[i][d]
	}
	return p
}

// Attach makes w the wire the configuration applies to and pushes the
// current parameters to it.
func (c *Control) Attach(w *Wire) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wire = w
	return c.push()
}

// push sends the current node's parameters to the wire. c.mu is held.
func (c *Control) push() error {
	if c.wire == nil {
		return nil
	}
	var first error
	for d := 0; d < c.wire.Dirs(); d++ {
		if err := c.wire.Configure(Dir(d), c.params(c.current, Dir(d)), c.fifo); err != nil && first == nil {
			first = err
		}
	}
	if first == ErrStopped {
		return nil
	}
	return first
}

// Close stops the Markov timer.
func (c *Control) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	c.wire = nil
}
