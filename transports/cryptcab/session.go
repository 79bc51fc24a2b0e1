package cryptcab

import (
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
)

type sessionState int

const (
	statePending      sessionState = iota // server: handshake answered, not yet confirmed by the client
	stateEstablished                      // keys in use
	stateDisconnected                     // client: between sessions (no usable key)
	stateClosed
)

// Session is one encrypted cable between a client and a server, as one
// side sees it: a transports.Endpoint whose frames travel encrypted to the
// peer. A server makes one Session per client (Server.Accept); a Client
// is a Session that reconnects by itself.
//
// ReadBatch and WriteBatch may run concurrently (one reader, one writer);
// Close may be called from any goroutine.
type Session struct {
	e      *engine
	id     uint64
	user   string // the ssh user a ticket was issued to; "" with a pre-shared key
	descr  string
	remote netip.AddrPort

	// Guarded by e.mu.
	state           sessionState
	cur, prev, next *keypair
	resume          authKey
	peerName        rawName
	lastRecv        int64
	created         int64
	pend            *frames.Batch
	err             error

	send     atomic.Pointer[keypair]
	peer     atomic.Pointer[rawName]
	lastSend atomic.Int64

	in   frameQueue
	done chan struct{}

	rmu sync.Mutex

	wmu sync.Mutex
	tx  txState

	queueDrops, noKey, writeErrs atomic.Uint64
}

func newSession(e *engine, id uint64, peer *rawName, now int64) *Session {
	s := &Session{e: e, id: id, peerName: *peer, created: now, lastRecv: now, done: make(chan struct{})}
	s.in.init()
	p := *peer
	s.peer.Store(&p)
	s.remote = peer.addrPort()
	s.lastSend.Store(now)
	s.tx.init()
	return s
}

// push hands the frames of b to the session's reader and recycles b;
// frames beyond the queue's room are dropped and counted. Called with
// e.mu held.
func (s *Session) push(b *frames.Batch) {
	if d := s.in.put(b); d > 0 {
		s.queueDrops.Add(uint64(d))
		s.e.st.queueFull.Add(uint64(d))
	}
	b.Recycle()
}

// deliver appends one decrypted frame for s. Called with e.mu held.
func (e *engine) deliver(s *Session, f *frames.Buf) {
	if s.pend == nil {
		s.pend = frames.GetBatch()
		e.rx.touched = append(e.rx.touched, s)
	}
	s.pend.Add(f)
	e.rx.frames++
	e.rx.bytes += uint64(f.Len())
	if s.pend.Full() {
		s.push(s.pend)
		s.pend = nil
	}
}

// ReadBatch implements transports.Endpoint: it blocks until frames from the
// peer arrive and moves as many as fit into b (the references pass to b).
// After the session ends it returns, once the frames already received are
// read, io.EOF (the peer went silent or was replaced) or
// transports.ErrClosed (after Close). Calls are serialised.
func (s *Session) ReadBatch(b *frames.Batch) error {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if b.Full() {
		return nil
	}
	for {
		if s.in.take(b) > 0 {
			return nil
		}
		select {
		case <-s.in.ready:
		case <-s.done:
			if s.in.take(b) > 0 {
				return nil
			}
			return s.closeErr()
		}
	}
}

func (s *Session) closeErr() error {
	s.e.mu.Lock()
	defer s.e.mu.Unlock()
	if s.err == nil {
		return transports.ErrClosed
	}
	return s.err
}

// Close implements transports.Endpoint: it ends the session (a server
// forgets it; its keys stop working) and releases the frames queued for
// it. For a Client, Client.Close also closes the socket. It is safe to
// call more than once.
func (s *Session) Close() error {
	s.e.mu.Lock()
	s.e.closeSessionLocked(s, transports.ErrClosed)
	s.e.mu.Unlock()
	s.in.drain()
	return nil
}

// Describe implements transports.Endpoint.
func (s *Session) Describe() string { return s.descr }

// RemoteAddr is the peer's UDP address when the session was made (a
// server follows a client whose address changes; this does not).
func (s *Session) RemoteAddr() netip.AddrPort { return s.remote }

// User is the login name the ssh ticket of this session was issued to
// ("" with a pre-shared key or when unknown).
func (s *Session) User() string { return s.user }

// ID is the session's random identifier (shown in logs). A client's
// changes when it makes a new session.
func (s *Session) ID() uint64 {
	s.e.mu.Lock()
	defer s.e.mu.Unlock()
	return s.id
}

// Done is closed when the session ends.
func (s *Session) Done() <-chan struct{} { return s.done }

// Drops implements transports.DropCounter: frames written while no key was
// usable or refused by the kernel, and received frames dropped because
// the reader was too slow.
func (s *Session) Drops() (write, read uint64) {
	return s.noKey.Load() + s.writeErrs.Load(), s.queueDrops.Load()
}

var (
	_ transports.Endpoint    = (*Session)(nil)
	_ transports.DropCounter = (*Session)(nil)
)
