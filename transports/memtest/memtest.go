// Package memtest provides in-memory endpoints for testing graphs of actors
// without sockets, in the spirit of wireguard-go's tun/tuntest.
package memtest

import (
	"errors"
	"sync"
	"time"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
)

// Endpoint is an in-memory transports.Endpoint. Frames given to Inject come
// out of ReadBatch; frames written with WriteBatch are copied into Out.
type Endpoint struct {
	Name string
	in   chan *frames.Buf
	// Out receives a copy of every frame written to the endpoint.
	Out chan []byte
	// Blocking makes WriteBatch block when Out is full instead of dropping.
	Blocking bool

	mu      sync.Mutex
	closed  bool
	done    chan struct{}
	dropped uint64
}

// New returns an endpoint whose input queue holds up to depth frames and
// whose Out channel holds up to depth copies.
func New(name string, depth int) *Endpoint {
	return &Endpoint{Name: name, in: make(chan *frames.Buf, depth), Out: make(chan []byte, depth), done: make(chan struct{})}
}

// Inject queues a copy of p for ReadBatch; it blocks while the queue is full.
func (e *Endpoint) Inject(p []byte) {
	select {
	case e.in <- frames.GetCopy(p):
	case <-e.done:
	}
}

// ReadBatch implements transports.Endpoint.
func (e *Endpoint) ReadBatch(b *frames.Batch) error { return readQueue(e.in, e.done, b) }

// readQueue waits for one frame from in (or done), then takes whatever
// else is queued, up to the batch's room.
func readQueue(in <-chan *frames.Buf, done <-chan struct{}, b *frames.Batch) error {
	select {
	case f := <-in:
		b.Add(f)
	case <-done:
		return transports.ErrClosed
	}
	for !b.Full() {
		select {
		case f := <-in:
			b.Add(f)
		default:
			return nil
		}
	}
	return nil
}

// WriteBatch implements transports.Endpoint.
func (e *Endpoint) WriteBatch(b *frames.Batch) error {
	for _, f := range b.Slice() {
		c := append([]byte(nil), f.Bytes()...)
		if e.Blocking {
			select {
			case e.Out <- c:
			case <-e.done:
				return transports.ErrClosed
			}
			continue
		}
		select {
		case e.Out <- c:
		default:
			e.mu.Lock()
			e.dropped++
			e.mu.Unlock()
		}
	}
	return nil
}

// WriteNeverBlocks implements transports.NonBlocking.
func (e *Endpoint) WriteNeverBlocks() bool { return !e.Blocking }

// Drops implements transports.DropCounter.
func (e *Endpoint) Drops() (uint64, uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dropped, 0
}

// Close implements transports.Endpoint.
func (e *Endpoint) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.closed {
		e.closed = true
		close(e.done)
	}
	return nil
}

// Describe implements transports.Endpoint.
func (e *Endpoint) Describe() string { return e.Name }

// Recv waits for the next frame written to the endpoint, or returns nil,
// io.EOF-like false when none arrives before the timer channel fires.
func (e *Endpoint) Recv(timeout <-chan struct{}) ([]byte, bool) {
	select {
	case p := <-e.Out:
		return p, true
	case <-timeout:
		return nil, false
	}
}

var _ transports.Endpoint = (*Endpoint)(nil)

// ErrTimeout is what ReadFrames returns when the frames did not come in time.
var ErrTimeout = errors.New("memtest: read timed out")

// ReadFrames reads copies of frames from any endpoint until n came or
// ReadBatch returned an error (returned with the frames read before it).
// After timeout it closes e, which ends the pending read, and returns
// ErrTimeout.
func ReadFrames(e transports.Endpoint, n int, timeout time.Duration) ([][]byte, error) {
	type res struct {
		got [][]byte
		err error
	}
	ch := make(chan res, 1)
	go func() {
		var got [][]byte
		for len(got) < n {
			b := frames.GetBatch()
			err := e.ReadBatch(b)
			for _, f := range b.Slice() {
				got = append(got, append([]byte(nil), f.Bytes()...))
			}
			b.Release()
			if err != nil {
				ch <- res{got, err}
				return
			}
		}
		ch <- res{got, nil}
	}()
	select {
	case r := <-ch:
		return r.got, r.err
	case <-time.After(timeout):
		e.Close() // ends the pending read (the reader's result is dropped)
		return nil, ErrTimeout
	}
}
