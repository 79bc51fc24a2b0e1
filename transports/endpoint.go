// Package transports defines the Endpoint interface every kind of attachment
// to the outside world implements (vde2 sockets, streams, taps, UDP, …). The
// implementations live in the sub-packages, one per kind; transports/vnl opens
// them by VNL.
package transports

import (
	"errors"
	"time"

	"github.com/govde/govde/frames"
)

// ErrClosed is returned by ReadBatch and WriteBatch after Close.
var ErrClosed = errors.New("endpoint closed")

// Endpoint is one attachment to the outside world.
//
// ReadBatch and WriteBatch may be called concurrently with each other (one
// reader goroutine, one writer), and Close may be called from any goroutine:
// it unblocks a pending ReadBatch, which then returns ErrClosed.
type Endpoint interface {
	// ReadBatch blocks until at least one frame is available, then appends
	// as many frames as are ready now (up to the batch's free space) to b,
	// each in a buffer from the frames pools whose reference passes to b.
	// Frames shorter than frames.MinFrame are not returned. It returns
	// io.EOF when the peer has gone for good, ErrClosed after Close.
	ReadBatch(b *frames.Batch) error
	// WriteBatch sends every frame of b in order. The caller keeps ownership
	// of b and its frames. An endpoint whose WriteNeverBlocks reports true
	// drops (and counts) what the OS cannot take now; the others block until
	// everything is written. An error means the endpoint is unusable.
	WriteBatch(b *frames.Batch) error
	// Close releases the OS resources; it is safe to call more than once.
	Close() error
	// Describe returns what port/print shows for this endpoint.
	Describe() string
}

// NonBlocking is implemented by endpoints whose WriteBatch never blocks
// (datagram sockets written with MSG_DONTWAIT): a port can then write from its
// actor directly instead of through a writer goroutine.
type NonBlocking interface {
	WriteNeverBlocks() bool
}

// DropCounter is implemented by endpoints that drop frames on write (full
// socket buffer) or on read (oversize, malformed); the port reports them.
type DropCounter interface {
	// Drops returns frames dropped on write and on read since creation.
	Drops() (write, read uint64)
}

// WritesNeverBlock reports whether ep's WriteBatch never blocks.
func WritesNeverBlock(ep Endpoint) bool {
	nb, ok := ep.(NonBlocking)
	return ok && nb.WriteNeverBlocks()
}

// PartialWriter is implemented by non-blocking endpoints that can also
// write part of a batch and wait for room (datagram sockets): a port keeps
// what the socket could not take in a backlog and waits for the peer to
// drain it, instead of dropping, so that the sender can be paced.
type PartialWriter interface {
	// TryWriteBatch writes b.Frames[from:b.N] without blocking and returns
	// the index of the first frame the endpoint could not take now (b.N
	// when all went). Frames failing for good are dropped and counted.
	TryWriteBatch(b *frames.Batch, from int) (int, error)
	// WaitWriteBatch is TryWriteBatch waiting for room, until deadline (zero:
	// no deadline) or Close; past the deadline it returns the index reached
	// and os.ErrDeadlineExceeded.
	WaitWriteBatch(b *frames.Batch, from int, deadline time.Time) (int, error)
	// DropFrames counts n frames the caller gave up on because the endpoint
	// stayed full.
	DropFrames(n int)
}
