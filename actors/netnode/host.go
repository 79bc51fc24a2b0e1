package netnode

import (
	"sync"
	"sync/atomic"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
)

// Host is the node's host port as an endpoint: the process that opened the
// node reads what the node sends it and writes what it injects. It
// implements transports.Endpoint, transports.NonBlocking and
// transports.DropCounter.
//
// ReadBatch blocks until the node has frames for the host. WriteBatch never
// blocks: it hands the node one more reference to each frame (the caller
// keeps its own) and the node's full mailbox drops, as a switch does.
// Close (or the node's Close) unblocks ReadBatch.
type Host struct {
	n       *Node
	q       chan *frames.Batch
	done    chan struct{}
	once    sync.Once
	closed  atomic.Bool
	dropped atomic.Uint64

	rmu sync.Mutex
	cur *frames.Batch // a batch being handed out across ReadBatch calls
	pos int
}

func newHost(n *Node, queue int) *Host {
	return &Host{n: n, q: make(chan *frames.Batch, queue), done: make(chan struct{})}
}

// deliver queues b for the host (the node actor's side); a full queue
// drops b and counts its frames.
func (h *Host) deliver(b *frames.Batch) {
	if h.closed.Load() {
		b.Release()
		return
	}
	select {
	case h.q <- b:
	default:
		h.dropped.Add(uint64(b.N))
		b.Release()
	}
}

// ReadBatch implements transports.Endpoint: it waits for frames sent to the
// host and moves as many as fit into b. It returns transports.ErrClosed
// once the host or the node is closed.
func (h *Host) ReadBatch(b *frames.Batch) error {
	h.rmu.Lock()
	defer h.rmu.Unlock()
	if b.Full() {
		return nil
	}
	if h.cur == nil {
		select {
		case h.cur = <-h.q:
			h.pos = 0
		case <-h.done:
			return transports.ErrClosed
		}
	}
	for !b.Full() {
		if h.cur == nil {
			select {
			case h.cur = <-h.q:
				h.pos = 0
			default:
				return nil
			}
		}
		for h.pos < h.cur.N && !b.Full() {
			b.Add(h.cur.Frames[h.pos])
			h.cur.Frames[h.pos] = nil
			h.pos++
		}
		if h.pos == h.cur.N {
			h.cur.N = 0
			h.cur.Recycle()
			h.cur = nil
		}
	}
	return nil
}

// WriteBatch implements transports.Endpoint: the frames of b enter the node
// from the host. The caller keeps ownership of b and its frames.
func (h *Host) WriteBatch(b *frames.Batch) error {
	if h.closed.Load() {
		return transports.ErrClosed
	}
	if b.N == 0 {
		return nil
	}
	nb := frames.GetBatch()
	for _, f := range b.Slice() {
		f.Retain(1)
		nb.Add(f)
	}
	nb.Port = HostPort
	h.n.sys.Root.Send(h.n.pid, nb)
	return nil
}

// WriteNeverBlocks implements transports.NonBlocking: true.
func (h *Host) WriteNeverBlocks() bool { return true }

// Drops implements transports.DropCounter: frames for the host dropped
// because its queue was full (write: 0, the node counts its own queue).
func (h *Host) Drops() (write, read uint64) { return 0, h.dropped.Load() }

// Describe implements transports.Endpoint.
func (h *Host) Describe() string { return h.n.kind.String() + " host" }

// Close implements transports.Endpoint: the host stops reading and
// writing; what the node sends it from now on is dropped. It does not stop
// the node (Node.Close does). Safe to call more than once.
func (h *Host) Close() error {
	h.once.Do(func() {
		h.closed.Store(true)
		close(h.done)
	})
	return nil
}

// shutdown closes the host and returns every queued frame to its pool; the
// node actor has stopped.
func (h *Host) shutdown() {
	h.Close()
	h.rmu.Lock()
	defer h.rmu.Unlock()
	if h.cur != nil {
		for _, f := range h.cur.Frames[h.pos:h.cur.N] {
			f.Release()
		}
		h.cur.N = 0
		h.cur.Recycle()
		h.cur = nil
	}
	for {
		select {
		case b := <-h.q:
			b.Release()
		default:
			return
		}
	}
}
