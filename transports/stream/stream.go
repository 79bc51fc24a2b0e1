// Package stream carries frames over any byte stream (a pipe, stdin/stdout,
// a TCP or unix stream connection) with the vdestream framing of vdeplug4:
// every frame is preceded by its length as two big-endian bytes, with no
// padding, checksum or magic.
//
// The reader is more robust than the C original (vdestream_recv) while
// staying identical on the wire: it keeps a length header split between two
// reads instead of losing sync, drops frames shorter than frames.MinFrame,
// and after an impossible length throws away what it has buffered, as the
// original does, then resumes with the next read.
package stream

import (
	"io"
	"sync"
	"sync/atomic"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
)

// ReadBufSize is the size of the endpoint's read buffer: the most one
// ReadBatch asks from the underlying reader in one Read call.
const ReadBufSize = 64 << 10

// WriteBufSize is the size of the endpoint's write buffer. A whole batch of
// standard-size frames (frames.BatchSize × (frames.MaxStd + 2) bytes) fits,
// so such a batch costs exactly one Write call.
const WriteBufSize = 128 << 10

// HeaderLen is the length of the frame header on the stream.
const HeaderLen = 2

// Options configures an Endpoint. The zero value is usable.
type Options struct {
	// MaxFrame is the largest frame accepted in either direction. Zero (or
	// anything outside 1..frames.MaxJumbo) means frames.MaxJumbo (65535), the
	// largest length the 2-byte header can express. vdeplug4 itself uses
	// 9236 (VDE_ETHBUFSIZE + 2).
	MaxFrame int
	// Describe is what Describe returns; empty means "stream".
	Describe string
	// Logf, if not nil, receives the endpoint's rare diagnostic lines (bad
	// lengths on the input), at most one per second. It is never called on
	// the normal data path and must not retain args.
	Logf func(format string, args ...any)
	// Closer, if not nil, is closed by Close (once). It should be what
	// unblocks a Read pending on the reader (the pipe, file or connection
	// itself); without it a ReadBatch blocked in Read keeps waiting until the
	// Read returns, and only then reports transports.ErrClosed.
	Closer io.Closer
}

// Endpoint is a transports.Endpoint over a byte stream.
//
// Concurrency follows transports.Endpoint: at most one goroutine calls
// ReadBatch and at most one calls WriteBatch (concurrent WriteBatch calls are
// serialised, never interleaved); Close may be called from any goroutine at
// any time. Both directions block on the underlying stream: there is no
// NonBlocking implementation.
//
// Memory: the endpoint owns one read buffer of ReadBufSize bytes and one
// write buffer of WriteBufSize bytes, allocated by New; in steady state it
// allocates nothing per frame (frames come from the frames pools).
type Endpoint struct {
	r        io.Reader
	w        io.Writer
	maxFrame int
	describe string
	logf     func(format string, args ...any)
	closer   io.Closer

	rd readState // owned by the ReadBatch goroutine

	wmu  sync.Mutex // serialises WriteBatch; guards wbuf
	wbuf []byte

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error

	rxRunts     atomic.Uint64
	rxOversize  atomic.Uint64
	rxTruncated atomic.Uint64
	txOversize  atomic.Uint64
}

// Stats are the endpoint's drop counters by reason.
type Stats struct {
	// RxRunts counts input records shorter than frames.MinFrame (length 0
	// records are padding, not runts, and are not counted).
	RxRunts uint64
	// RxOversize counts input length headers above MaxFrame; each one also
	// discarded whatever else was buffered at the time.
	RxOversize uint64
	// RxTruncated counts frames cut short by the end of the stream.
	RxTruncated uint64
	// TxOversize counts frames longer than MaxFrame given to WriteBatch.
	TxOversize uint64
}

// New returns an endpoint reading frames from r and writing frames to w
// (often the two halves of one connection, or stdin and stdout). r and w
// must not be nil. The endpoint does not take ownership of r or w beyond
// closing opt.Closer in Close.
func New(r io.Reader, w io.Writer, opt Options) *Endpoint {
	if r == nil || w == nil {
		panic("stream: New with a nil reader or writer")
	}
	max := opt.MaxFrame
	if max <= 0 || max > frames.MaxJumbo {
		max = frames.MaxJumbo
	}
	d := opt.Describe
	if d == "" {
		d = "stream"
	}
	return &Endpoint{
		r:        r,
		w:        w,
		maxFrame: max,
		describe: d,
		logf:     opt.Logf,
		closer:   opt.Closer,
		rd:       readState{buf: make([]byte, ReadBufSize)},
		wbuf:     make([]byte, 0, WriteBufSize),
	}
}

// MaxFrame returns the largest frame the endpoint reads or writes.
func (e *Endpoint) MaxFrame() int { return e.maxFrame }

// Close marks the endpoint closed and closes Options.Closer, once; later
// calls return the first call's result. A ReadBatch or WriteBatch that
// returns after Close reports transports.ErrClosed.
func (e *Endpoint) Close() error {
	e.closeOnce.Do(func() {
		e.closed.Store(true)
		if e.closer != nil {
			e.closeErr = e.closer.Close()
		}
	})
	return e.closeErr
}

// Describe implements transports.Endpoint.
func (e *Endpoint) Describe() string { return e.describe }

// Drops implements transports.DropCounter: frames dropped on write (too
// long) and on read (runts, bad lengths, truncated by EOF).
func (e *Endpoint) Drops() (write, read uint64) {
	return e.txOversize.Load(), e.rxRunts.Load() + e.rxOversize.Load() + e.rxTruncated.Load()
}

// Stats returns the drop counters by reason. Safe from any goroutine.
func (e *Endpoint) Stats() Stats {
	return Stats{
		RxRunts:     e.rxRunts.Load(),
		RxOversize:  e.rxOversize.Load(),
		RxTruncated: e.rxTruncated.Load(),
		TxOversize:  e.txOversize.Load(),
	}
}

var (
	_ transports.Endpoint    = (*Endpoint)(nil)
	_ transports.DropCounter = (*Endpoint)(nil)
)
