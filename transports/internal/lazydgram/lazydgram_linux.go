// Package lazydgram is a datagram socket that talks to one peer the way
// vdeplug4's udp:// and ptp:// modules do (CONNECTED_P2P): the socket
// connects to its peer only when it first sends, so until then it accepts
// datagrams from anyone; once connected the kernel delivers only the peer's
// datagrams; a zero-length datagram received disconnects it again (it then
// accepts anyone until its next send reconnects); and a send that finds the
// socket disconnected (the unix peer died and came back) reconnects.
//
// Batched I/O is transports/dgram's (recvmmsg/sendmmsg, zero allocations
// per frame); this package only adds the connection state.
package lazydgram

import (
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/dgram"
)

// Config configures a Conn.
type Config struct {
	// Peer is the address the socket connects to before sending.
	Peer unix.Sockaddr
	// Connected says the socket is already connected to Peer.
	Connected bool
	// ResetOnEmpty makes a received zero-length datagram disconnect the
	// socket (vdeplug4's udp:// and ptp://).
	ResetOnEmpty bool
	// MaxFrame and Descr are passed to dgram.Config.
	MaxFrame int
	Descr    string
}

// Conn is a datagram socket with vdeplug's lazy connection to its peer. It
// implements transports.Endpoint, transports.NonBlocking and
// transports.DropCounter, with the concurrency rules of *dgram.Conn (whose
// other methods it promotes).
type Conn struct {
	*dgram.Conn
	peer  unix.Sockaddr
	reset bool

	mu        sync.Mutex // guards connected and werr; held across a WriteBatch
	connected bool
	werr      syscall.Errno // the last send error of the current WriteBatch

	connectFn func(fd int) error // c.connectPeer, made once

	noPeer   atomic.Uint64 // frames dropped because connecting to the peer failed
	resets   atomic.Uint64 // zero-length datagrams that disconnected the socket
	connects atomic.Uint64 // connections made to the peer
}

// New wraps fd, a datagram socket (bound as wanted), in a Conn. The Conn
// takes ownership of fd; on error fd is closed.
func New(fd int, cfg Config) (*Conn, error) {
	c := &Conn{peer: cfg.Peer, reset: cfg.ResetOnEmpty, connected: cfg.Connected}
	c.connectFn = c.connectPeer
	dc, err := dgram.New(fd, dgram.Config{
		MaxFrame:     cfg.MaxFrame,
		Descr:        cfg.Descr,
		OnEmpty:      c.onEmpty,
		OnWriteError: c.onWriteError,
		// Every event must reach the callbacks: they keep the state.
		ErrorInterval: time.Nanosecond,
	})
	if err != nil {
		return nil, err
	}
	c.Conn = dc
	return c, nil
}

// onEmpty runs on the reader's goroutine when zero-length datagrams came in.
func (c *Conn) onEmpty(uint64) {
	if !c.reset {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.Conn.Control(disconnect); err == nil {
		c.connected = false
		c.resets.Add(1)
	}
}

// onWriteError runs inside WriteBatch (c.mu held).
func (c *Conn) onWriteError(err error, _ uint64) {
	if e, ok := err.(syscall.Errno); ok {
		c.werr = e
	}
}

func (c *Conn) connectPeer(fd int) error { return unix.Connect(fd, c.peer) }

// unspec is a sockaddr of family AF_UNSPEC: connecting to it dissolves a
// datagram socket's association.
var unspec [16]byte

func disconnect(fd int) error {
	_, _, e := unix.Syscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&unspec[0])), uintptr(len(unspec)))
	if e != 0 {
		return e
	}
	return nil
}

// WriteBatch sends every frame of b to the peer, connecting first if the
// socket is not connected; when the connection fails (no peer yet) the
// batch is dropped and counted. Like dgram.Conn.WriteBatch it never blocks
// and returns only transports.ErrClosed; the caller keeps ownership of b.
func (c *Conn) WriteBatch(b *frames.Batch) error {
	if b.N == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.connected {
		err := c.Conn.Control(c.connectFn)
		if err == transports.ErrClosed {
			return err
		}
		if err != nil {
			c.noPeer.Add(uint64(b.N))
			return nil
		}
		c.connected = true
		c.connects.Add(1)
	}
	c.werr = 0
	err := c.Conn.WriteBatch(b)
	switch c.werr {
	case unix.ECONNREFUSED, unix.ENOTCONN, unix.EDESTADDRREQ:
		// A unix peer that died disconnects the socket (ECONNREFUSED once,
		// then ENOTCONN); a UDP peer's ICMP error is harmless to redo.
		c.connected = false
	}
	return err
}

// Connected reports whether the socket is connected to its peer now.
func (c *Conn) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected
}

// Drops implements transports.DropCounter: dgram's drops plus the frames
// dropped because the peer could not be reached.
func (c *Conn) Drops() (write, read uint64) {
	w, r := c.Conn.Drops()
	return w + c.noPeer.Load(), r
}

// Resets returns how many zero-length datagrams disconnected the socket.
func (c *Conn) Resets() uint64 { return c.resets.Load() }

// Connects returns how many times the socket connected to its peer.
func (c *Conn) Connects() uint64 { return c.connects.Load() }

var (
	_ transports.Endpoint    = (*Conn)(nil)
	_ transports.NonBlocking = (*Conn)(nil)
	_ transports.DropCounter = (*Conn)(nil)
)
