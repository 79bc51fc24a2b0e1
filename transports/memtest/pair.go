package memtest

import (
	"sync"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
)

// Pair returns two endpoints joined like the two ends of a cable: frames
// written to one are read from the other. Writes never block; what does not
// fit the other end's queue (depth frames) is dropped. Closing either end
// ends both.
func Pair(depth int) (*PairEnd, *PairEnd) {
	done := make(chan struct{})
	var once sync.Once
	a := &PairEnd{in: make(chan *frames.Buf, depth), done: done, once: &once}
	b := &PairEnd{in: make(chan *frames.Buf, depth), done: done, once: &once}
	a.peer, b.peer = b, a
	return a, b
}

// PairEnd is one end of a Pair.
type PairEnd struct {
	in   chan *frames.Buf
	peer *PairEnd
	done chan struct{}
	once *sync.Once
}

// ReadBatch implements transports.Endpoint.
func (e *PairEnd) ReadBatch(b *frames.Batch) error { return readQueue(e.in, e.done, b) }

// WriteBatch implements transports.Endpoint.
func (e *PairEnd) WriteBatch(b *frames.Batch) error {
	for _, f := range b.Slice() {
		select {
		case <-e.done:
			return transports.ErrClosed
		default:
		}
		c := f.Clone()
		select {
		case e.peer.in <- c:
		default:
			c.Release()
		}
	}
	return nil
}

// WriteNeverBlocks implements transports.NonBlocking.
func (e *PairEnd) WriteNeverBlocks() bool { return true }

// Close ends both ends.
func (e *PairEnd) Close() error {
	e.once.Do(func() { close(e.done) })
	return nil
}

// Describe implements transports.Endpoint.
func (e *PairEnd) Describe() string { return "memtest pair" }
