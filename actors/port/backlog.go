package port

import (
	"errors"
	"os"
	"sync"
	"time"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
)

// BacklogLen is the number of frames a datagram endpoint keeps while its
// peer's socket is full.
const BacklogLen = 512

// StallTimeout is how long a full endpoint may go without taking a single
// frame (200 ms: a receiver descheduled on a busy machine is not a dead
// one) before its backlog is dropped and it is written like the original
// switch does (drop what does not fit) until a whole batch goes through
// again: a peer that stops reading must not hold back the senders whose
// frames wait for it.
const StallTimeout = 200 * time.Millisecond

// backlog paces a non-blocking datagram endpoint: what its socket cannot
// take now is kept (up to BacklogLen frames, in order) and written by a
// flusher goroutine that waits for the peer to drain its queue. While frames
// wait here they keep their reader's credit (frames.Credit), so a sender
// whose unicast frames only go to this endpoint is slowed down at its
// source instead of losing frames here.
//
// The port actor writes directly while the backlog is idle; once frames
// are queued the flusher owns the socket until the backlog is empty again,
// so frames never overtake each other.
type backlog struct {
	pw transports.PartialWriter

	mu       sync.Mutex
	ring     []*frames.Buf // nil until first needed
	head, n  int
	busy     bool // the flusher owns the socket
	dropping bool // stalled: drop what does not fit at once
	closed   bool
	started  bool
	kick     chan struct{}
}

func newBacklog(pw transports.PartialWriter) *backlog {
	return &backlog{pw: pw, kick: make(chan struct{}, 1)}
}

// send writes b (the caller keeps b), queueing what the socket cannot take.
func (q *backlog) send(b *frames.Batch) error {
	q.mu.Lock()
	if q.busy {
		q.push(b.Frames[:b.N])
		q.mu.Unlock()
		return nil
	}
	q.mu.Unlock()
	// Idle: only this goroutine writes now.
	sent, err := q.pw.TryWriteBatch(b, 0)
	if err != nil || sent == b.N {
		if err == nil && q.dropping {
			q.mu.Lock()
			q.dropping = false
			q.mu.Unlock()
		}
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.dropping || q.closed {
		q.pw.DropFrames(b.N - sent)
		return nil
	}
	q.push(b.Frames[sent:b.N])
	q.busy = true
	if !q.started {
		q.started = true
		go q.flusher()
	}
	select {
	case q.kick <- struct{}{}:
	default:
	}
	return nil
}

// push queues frames (taking a reference to each); called with mu held.
func (q *backlog) push(fs []*frames.Buf) {
	if q.ring == nil {
		q.ring = make([]*frames.Buf, BacklogLen)
	}
	for i, f := range fs {
		if q.n == len(q.ring) {
			q.pw.DropFrames(len(fs) - i)
			return
		}
		f.Retain(1)
		q.ring[(q.head+q.n)%len(q.ring)] = f
		q.n++
	}
}

// take moves up to one batch of queued frames into b; called with mu held.
func (q *backlog) take(b *frames.Batch) {
	for q.n > 0 && !b.Full() {
		b.Add(q.ring[q.head])
		q.ring[q.head] = nil
		q.head = (q.head + 1) % len(q.ring)
		q.n--
	}
}

// dropAll releases every queued frame and counts them; called with mu held.
func (q *backlog) dropAll() {
	if q.n > 0 {
		q.pw.DropFrames(q.n)
	}
	for q.n > 0 {
		q.ring[q.head].Release()
		q.ring[q.head] = nil
		q.head = (q.head + 1) % len(q.ring)
		q.n--
	}
}

func (q *backlog) flusher() {
	b := frames.GetBatch()
	defer b.Recycle()
	for range q.kick {
		for {
			q.mu.Lock()
			if q.closed {
				q.dropAll()
				q.busy = false
				q.mu.Unlock()
				return
			}
			q.take(b)
			if b.N == 0 {
				q.busy = false
				q.mu.Unlock()
				break
			}
			q.mu.Unlock()
			sent, err := WaitWrite(q.pw, b, 0)
			if err != nil {
				if sent < b.N {
					q.pw.DropFrames(b.N - sent)
				}
				b.ReleaseFrames()
				q.mu.Lock()
				q.dropAll()
				q.busy = false
				if errors.Is(err, os.ErrDeadlineExceeded) {
					q.dropping = true
				} else {
					q.closed = true
				}
				q.mu.Unlock()
				break
			}
			b.ReleaseFrames()
		}
	}
}

// WaitWrite writes b.Frames[from:] to pw, waiting for room as long as the
// peer keeps taking frames; it returns os.ErrDeadlineExceeded when the peer
// took nothing for StallTimeout, with the index reached.
func WaitWrite(pw transports.PartialWriter, b *frames.Batch, from int) (int, error) {
	for {
		n, err := pw.WaitWriteBatch(b, from, time.Now().Add(StallTimeout))
		if errors.Is(err, os.ErrDeadlineExceeded) && n > from {
			from = n // progress: a slow peer, not a dead one
			continue
		}
		return n, err
	}
}

// close drops the queued frames and ends the flusher (a busy flusher drops
// them itself when it sees closed). Safe to call more than once.
func (q *backlog) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	if !q.busy {
		q.dropAll()
	}
	if q.started {
		q.started = false
		close(q.kick)
	}
}
