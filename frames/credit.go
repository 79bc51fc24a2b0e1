package frames

import (
	"sync/atomic"
)

// Credit paces a reader by the frames it read that are still held
// somewhere downstream (a mailbox, a fabric, an egress backlog). The reader
// tags every frame it reads with SetCredit and calls Took; the last Release
// of a frame (or DropCredit, for frames that should no longer count) gives
// the credit back. Wait blocks the reader while too many of its frames are
// in flight, so a sender whose frames queue at a full egress is slowed down
// at the source (its socket fills, its own writes wait) instead of having
// its frames dropped at the egress.
//
// The zero value is not usable; use NewCredit.
type Credit struct {
	inflight atomic.Int32
	waiting  atomic.Bool
	limit    int32
	resume   int32
	wake     chan struct{}
	done     chan struct{}
}

// NewCredit returns a Credit letting a reader hold at most limit frames in
// flight; a waiting reader resumes when half of them have come back.
func NewCredit(limit int) *Credit {
	if limit < 2 {
		limit = 2
	}
	return &Credit{limit: int32(limit), resume: int32(limit / 2), wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// Took records n frames read (each already tagged with SetCredit).
func (c *Credit) Took(n int) { c.inflight.Add(int32(n)) }

// InFlight returns the number of frames read and not yet given back.
func (c *Credit) InFlight() int { return int(c.inflight.Load()) }

// Wait blocks while the reader's frames in flight are at the limit, until
// enough come back or Close is called. It reports false after Close.
func (c *Credit) Wait() bool {
	for c.inflight.Load() >= c.limit {
		c.waiting.Store(true)
		// re-check after announcing the wait, so a give that raced with
		// the store is not missed
		if c.inflight.Load() < c.limit {
			c.waiting.Store(false)
			break
		}
		select {
		case <-c.wake:
		case <-c.done:
			return false
		}
	}
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// Close releases a waiting reader for good (the endpoint is going away).
// Safe to call once.
func (c *Credit) Close() { close(c.done) }

func (c *Credit) give(n int32) {
	r := c.inflight.Add(-n)
	if r <= c.resume && c.waiting.Load() && c.waiting.CompareAndSwap(true, false) {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// SetCredit tags the frame with the reader's credit: the frame counts
// against c until its last Release or DropCredit. The caller must hold the
// only reference.
func (b *Buf) SetCredit(c *Credit) { b.credit.Store(c) }

// DropCredit gives the frame's credit back now, if it still holds one: the
// frame no longer paces its reader (a flooded copy parked at a congested
// port should not hold back its sender's traffic to other ports).
func (b *Buf) DropCredit() {
	if b.credit.Load() == nil {
		return
	}
	if c := b.credit.Swap(nil); c != nil {
		c.give(1)
	}
}

// TakeCredit moves from's credit, if any, to b (a converted copy that
// replaces from on its way out). The caller must hold b's only reference.
func (b *Buf) TakeCredit(from *Buf) {
	if from.credit.Load() == nil {
		return
	}
	if c := from.credit.Swap(nil); c != nil {
		if old := b.credit.Swap(c); old != nil {
			old.give(1)
		}
	}
}
