package vde2

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/dgram"
)

// Endpoint is the switch side of one client connection: the client's
// control connection and the datagram socket DIR/NNN.ID connected to the
// client's data socket. It implements transports.Endpoint,
// transports.NonBlocking and transports.DropCounter.
//
// ReadBatch and WriteBatch follow dgram.Conn: one reader and one writer at a
// time, WriteBatch never blocks (drops are counted), a pending ReadBatch is
// unblocked by Close. ReadBatch returns io.EOF once the client has gone
// (EOF on its control connection) and transports.ErrClosed after a local
// Close.
type Endpoint struct {
	srv   *Server
	req   Request
	id    int
	ctlID int
	ctl   *net.UnixConn
	data  *dgram.Conn
	port  atomic.Int64

	mu       sync.Mutex
	closed   bool
	path     string
	peerGone atomic.Bool
}

// ID returns the endpoint id: the fd number of the switch's data socket, as
// in the C switch's file name DIR/NNN.ID (see also CtlID).
func (e *Endpoint) ID() int { return e.id }

// CtlID returns the fd number of the endpoint's control connection. This
// is what vde_switch 2.3.2 shows as "endpoint ID" in port/print and takes in
// port/epclose (observed: file 001.5, endpoint ID 0003), while the file name
// uses the data socket's fd (ID).
func (e *Endpoint) CtlID() int { return e.ctlID }

// Port returns the port Attach chose, -1 until Attach has returned.
func (e *Endpoint) Port() int { return int(e.port.Load()) }

// Request returns the client's request, with UID filled in.
func (e *Endpoint) Request() Request { return e.req }

// UID returns the connecting user: the owner of the client's data socket
// file, -1 when unknown (abstract address).
func (e *Endpoint) UID() int { return e.req.UID }

// Path returns the endpoint's socket file DIR/NNN.ID, "" before it is bound
// or after it has been removed by Close.
func (e *Endpoint) Path() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.path
}

// Describe implements transports.Endpoint: the client's description, as
// port/print shows it.
func (e *Endpoint) Describe() string { return e.req.Descr }

// ReadBatch implements transports.Endpoint (see dgram.Conn.ReadBatch).
func (e *Endpoint) ReadBatch(b *frames.Batch) error {
	err := e.data.ReadBatch(b)
	if err != nil && errors.Is(err, transports.ErrClosed) && e.peerGone.Load() {
		return io.EOF
	}
	return err
}

// WriteBatch implements transports.Endpoint (see dgram.Conn.WriteBatch): it
// never blocks; the caller keeps ownership of b.
func (e *Endpoint) WriteBatch(b *frames.Batch) error { return e.data.WriteBatch(b) }

// WriteNeverBlocks implements transports.NonBlocking: true.
func (e *Endpoint) WriteNeverBlocks() bool { return true }

// Drops implements transports.DropCounter.
func (e *Endpoint) Drops() (write, read uint64) { return e.data.Drops() }

// Stats returns the data socket's counters.
func (e *Endpoint) Stats() dgram.Stats { return e.data.Stats() }

// Close closes the endpoint from the switch side (port/epclose, port
// removal): the control connection is closed so that the client sees EOF,
// the socket file is unlinked and the data socket closed. The server's
// goroutine for this connection then calls Attacher.Detach (Close does not
// call it, so it may be called while holding locks Detach needs). Safe to
// call more than once, from any goroutine.
func (e *Endpoint) Close() error {
	e.closeWith(false)
	return nil
}

// closeWith closes everything once; peer records that the client caused it
// (ReadBatch then returns io.EOF). It reports whether this call did it.
func (e *Endpoint) closeWith(peer bool) bool {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return false
	}
	e.closed = true
	if peer {
		e.peerGone.Store(true)
	}
	path := e.path
	e.path = ""
	e.mu.Unlock()
	// Unlink while the fd (part of the name) is still ours, so that we
	// never remove the file of a newer endpoint that reuses the number.
	if path != "" {
		unix.Unlink(path)
	}
	drainClose(e.ctl)
	e.data.Close()
	return true
}

func (e *Endpoint) onWriteError(err error, suppressed uint64) {
	if suppressed > 0 {
		e.srv.logf("send_sockaddr port %d: %s (%d more send errors suppressed)", e.Port(), strerror(err), suppressed)
		return
	}
	e.srv.logf("send_sockaddr port %d: %s", e.Port(), strerror(err))
}

func (e *Endpoint) onEmpty(suppressed uint64) {
	e.srv.logf("EOF data port: zero-length datagram on port %d ignored", e.Port())
}

// TryWriteBatch implements transports.PartialWriter (see dgram.Conn).
func (e *Endpoint) TryWriteBatch(b *frames.Batch, from int) (int, error) {
	return e.data.WritePartial(b, from)
}

// WaitWriteBatch implements transports.PartialWriter (see dgram.Conn).
func (e *Endpoint) WaitWriteBatch(b *frames.Batch, from int, deadline time.Time) (int, error) {
	return e.data.WriteWait(b, from, deadline)
}

// DropFrames implements transports.PartialWriter.
func (e *Endpoint) DropFrames(n int) { e.data.AddWriteDrops(n) }

var (
	_ transports.PartialWriter = (*Endpoint)(nil)
	_ transports.PartialWriter = (*Client)(nil)
)

// ReadMore implements transports.MoreReader (see dgram.Conn).
func (e *Endpoint) ReadMore(b *frames.Batch) (int, error) { return e.data.ReadMore(b) }
