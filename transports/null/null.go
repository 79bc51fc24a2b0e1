// Package null implements the null:// module: an endpoint that never
// receives anything and discards everything sent to it, like vdeplug4's
// libvdeplug_null (typical use: vde_plug null:// switch:///tmp/sw, a
// standalone switch).
package null

import (
	"sync"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/vnl"
)

// Endpoint is the null endpoint. All its methods are safe for concurrent
// use.
type Endpoint struct {
	describe  string
	done      chan struct{}
	closeOnce sync.Once
}

// Open is the null module's vnl.Opener. The argument and a are ignored (as
// in C); the endpoint describes itself as "null://" + arg. It never fails.
// It is not registered by this package: the caller does
// vnl.Register("null", null.Open).
func Open(arg string, a vnl.Args) (transports.Endpoint, error) {
	return New("null://" + arg), nil
}

// New returns a null endpoint whose Describe returns describe.
func New(describe string) *Endpoint {
	return &Endpoint{describe: describe, done: make(chan struct{})}
}

// ReadBatch implements transports.Endpoint: it blocks until Close, then
// returns transports.ErrClosed, leaving b untouched.
func (e *Endpoint) ReadBatch(b *frames.Batch) error {
	<-e.done
	return transports.ErrClosed
}

// WriteBatch implements transports.Endpoint: it discards b without
// blocking (the caller keeps ownership of b and its frames) and returns
// nil, or transports.ErrClosed after Close. Discarded frames are not drops.
func (e *Endpoint) WriteBatch(b *frames.Batch) error {
	select {
	case <-e.done:
		return transports.ErrClosed
	default:
		return nil
	}
}

// WriteNeverBlocks implements transports.NonBlocking: always true.
func (e *Endpoint) WriteNeverBlocks() bool { return true }

// Close implements transports.Endpoint: it wakes every pending ReadBatch.
// It is safe to call more than once and always returns nil.
func (e *Endpoint) Close() error {
	e.closeOnce.Do(func() { close(e.done) })
	return nil
}

// Describe implements transports.Endpoint.
func (e *Endpoint) Describe() string { return e.describe }

var (
	_ transports.Endpoint    = (*Endpoint)(nil)
	_ transports.NonBlocking = (*Endpoint)(nil)
	_ vnl.Opener             = Open
)
