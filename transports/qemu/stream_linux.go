package qemu

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/internal/openerr"
)

// DialTimeout bounds connecting to a listening QEMU.
const DialTimeout = 5 * time.Second

// StreamConfig says where a QEMU stream endpoint connects or listens.
type StreamConfig struct {
	// Network is "unix" or "tcp".
	Network string
	// Address is a socket path ("@name": abstract) or HOST:PORT.
	Address string
	// Listen selects the server role (QEMU connects: server=off).
	Listen bool
	// Mode and GID set the permissions and group of a listening unix
	// socket (0 / -1: leave them).
	Mode os.FileMode
	GID  int
	// MaxFrame bounds frames both ways (0: MaxFrame).
	MaxFrame int
	// Descr is what Describe returns.
	Descr string
}

// Stream is a QEMU -netdev stream peer: frames with a 4-byte big-endian
// length over a unix or TCP stream connection. It implements
// transports.Endpoint and transports.DropCounter.
//
// In the client role it is one connection: when QEMU closes it, ReadBatch
// returns io.EOF (after the frames that came before). In the server role
// it serves one QEMU at a time and outlives it: when the connection ends
// (or QEMU sends a length it cannot take) it waits for the next one, and
// frames written meanwhile are dropped and counted; a second QEMU waits in
// the listen queue until the first leaves.
//
// Concurrency: one goroutine reads (and, in the server role, accepts),
// one writes; writes block while QEMU does not read (backpressure). Close
// may be called from any goroutine and unblocks both.
type Stream struct {
	cfg   StreamConfig
	max   int
	ln    net.Listener // server role only
	rd    reader
	rconn net.Conn // the reader's connection (reader goroutine only)
	end   error    // client role: why the connection ended

	mu   sync.Mutex // guards conn
	conn net.Conn   // the connection writes go to

	wmu  sync.Mutex
	wbuf []byte

	closed    atomic.Bool
	closeOnce sync.Once

	accepted, protoErrors, runts, noPeer, txOversize atomic.Uint64
}

// NewStream connects to (client) or listens at (server) cfg's address.
// Errors say which address and why.
func NewStream(cfg StreamConfig) (*Stream, error) {
	s := &Stream{cfg: cfg, max: cfg.MaxFrame}
	if s.max <= 0 || s.max > MaxFrame {
		s.max = MaxFrame
	}
	s.rd.buf = make([]byte, ReadBufSize)
	s.wbuf = make([]byte, 0, WriteBufSize)
	if cfg.Listen {
		ln, err := listen(cfg)
		if err != nil {
			return nil, err
		}
		s.ln = ln
		return s, nil
	}
	c, err := net.DialTimeout(cfg.Network, cfg.Address, DialTimeout)
	if err != nil {
		errno := openerr.Errno(err, syscall.ECONNREFUSED)
		hint := ""
		if errno == syscall.ECONNREFUSED || errno == syscall.ENOENT {
			hint = " (start QEMU first with -netdev stream,server=on,…, or let QEMU connect to us with [listen])"
		}
		return nil, openerr.New(errno, "cannot connect to %s %s%s", cfg.Network, cfg.Address, hint)
	}
	s.conn, s.rconn = c, c
	return s, nil
}

// listen opens the listening socket, replacing a stale unix socket file.
func listen(cfg StreamConfig) (net.Listener, error) {
	fail := func(err error) error {
		errno := openerr.Errno(err, syscall.EADDRINUSE)
		return openerr.New(errno, "cannot listen on %s %s", cfg.Network, cfg.Address)
	}
	if cfg.Network == "unix" && !abstract(cfg.Address) {
		if err := removeStale(cfg.Address, syscall.SOCK_STREAM); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen(cfg.Network, cfg.Address)
	if err != nil {
		return nil, fail(err)
	}
	if cfg.Network == "unix" && !abstract(cfg.Address) {
		if cfg.GID >= 0 {
			if err := os.Lchown(cfg.Address, -1, cfg.GID); err != nil {
				ln.Close()
				return nil, fail(err)
			}
		}
		if cfg.Mode != 0 {
			os.Chmod(cfg.Address, cfg.Mode.Perm())
		}
	}
	return ln, nil
}

// MaxFrame returns the longest frame moved either way.
func (s *Stream) MaxFrame() int { return s.max }

// Addr returns the listening address (server role) or the peer's.
func (s *Stream) Addr() net.Addr {
	if s.ln != nil {
		return s.ln.Addr()
	}
	return s.rconn.RemoteAddr()
}

// Connected reports whether a QEMU is connected now.
func (s *Stream) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn != nil
}

// ReadBatch implements transports.Endpoint: it blocks until at least one
// complete frame is available (in the server role: accepting a QEMU first
// if none is connected) and appends every complete frame buffered, up to
// b's free space. Frames shorter than frames.MinFrame are skipped and
// counted, zero-length records ignored.
func (s *Stream) ReadBatch(b *frames.Batch) error {
	if s.closed.Load() {
		return transports.ErrClosed
	}
	if b.Full() {
		return nil
	}
	n0 := b.N
	for {
		if s.rconn == nil {
			if s.ln == nil {
				return s.end
			}
			c, err := s.ln.Accept()
			if err != nil {
				if s.closed.Load() {
					return transports.ErrClosed
				}
				return err
			}
			s.accepted.Add(1)
			s.rd.reset()
			s.rconn = c
			s.mu.Lock()
			s.conn = c
			s.mu.Unlock()
		}
		if err := s.rd.parse(b, s.max); err != nil {
			s.protoErrors.Add(1)
			s.lost(err)
			if b.N > n0 {
				return nil
			}
			continue
		}
		s.runts.Add(s.rd.runts)
		s.rd.runts = 0
		if b.N > n0 {
			return nil
		}
		if s.rd.err != nil {
			s.lost(s.rd.err)
			continue
		}
		n, err := s.rconn.Read(s.rd.buf)
		if s.closed.Load() {
			return transports.ErrClosed
		}
		s.rd.pos, s.rd.end, s.rd.err = 0, n, err
	}
}

// lost ends the current connection (the reader's goroutine).
func (s *Stream) lost(err error) {
	c := s.rconn
	s.rconn = nil
	s.rd.reset()
	s.mu.Lock()
	if s.conn == c {
		s.conn = nil
	}
	s.mu.Unlock()
	c.Close()
	if s.ln == nil {
		if errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) {
			err = io.EOF
		}
		s.end = err
	}
}

// WriteBatch implements transports.Endpoint: it writes every frame of b
// with its 4-byte header, as few writes as possible (one per batch of
// standard frames), blocking while QEMU does not read. The caller keeps
// ownership of b. Frames longer than MaxFrame are dropped and counted. With
// no QEMU connected (server role) the batch is dropped and counted. A
// failed write ends the connection: in the client role the error is
// returned, in the server role the endpoint waits for the next QEMU.
func (s *Stream) WriteBatch(b *frames.Batch) error {
	if s.closed.Load() {
		return transports.ErrClosed
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	if c == nil {
		if s.ln == nil {
			return io.ErrClosedPipe
		}
		s.noPeer.Add(uint64(b.N))
		return nil
	}
	buf := s.wbuf[:0]
	for _, f := range b.Slice() {
		p := f.Bytes()
		if len(p) > s.max {
			s.txOversize.Add(1)
			continue
		}
		if len(buf)+HeaderLen+len(p) > cap(buf) {
			if err := s.flush(c, buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
		buf = appendFrame(buf, p)
	}
	if len(buf) == 0 {
		return nil
	}
	return s.flush(c, buf)
}

func (s *Stream) flush(c net.Conn, p []byte) error {
	_, err := c.Write(p)
	if err == nil {
		return nil
	}
	if s.closed.Load() {
		return transports.ErrClosed
	}
	if s.ln == nil {
		return err
	}
	// Server role: drop this QEMU; the reader notices and accepts the next.
	c.Close()
	return nil
}

// Drops implements transports.DropCounter: frames dropped on write (too
// long, or no QEMU connected) and records skipped on read (runts).
func (s *Stream) Drops() (write, read uint64) {
	return s.txOversize.Load() + s.noPeer.Load(), s.runts.Load()
}

// Accepted returns how many connections the server role accepted.
func (s *Stream) Accepted() uint64 { return s.accepted.Load() }

// ProtocolErrors returns how many connections ended on a bad length.
func (s *Stream) ProtocolErrors() uint64 { return s.protoErrors.Load() }

// Describe implements transports.Endpoint.
func (s *Stream) Describe() string { return s.cfg.Descr }

// Close closes the connection and the listening socket (removing its
// file), unblocking a pending ReadBatch and WriteBatch. It is safe to call
// more than once.
func (s *Stream) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		if s.ln != nil {
			s.ln.Close()
		}
		s.mu.Lock()
		if s.conn != nil {
			s.conn.Close()
		}
		s.mu.Unlock()
	})
	return nil
}

var (
	_ transports.Endpoint    = (*Stream)(nil)
	_ transports.DropCounter = (*Stream)(nil)
)
