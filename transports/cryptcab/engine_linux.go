package cryptcab

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
)

// socketBuffer is the receive and send buffer size asked for.
const socketBuffer = 4 << 20

// DefaultMaxFrame is the longest frame a cable carries unless configured:
// vdeplug's VDE_ETHBUFSIZE.
const DefaultMaxFrame = 9234

// engine is one UDP socket and everything that shares it: the sessions
// (one for a client, many for a server), the key index, the reader
// goroutine and the housekeeping goroutine.
//
// Locking: mu guards the control state (index, sessions, handshakes and
// each session's receive-side fields). The reader takes it once per
// recvmmsg batch, the housekeeping once per tick. Session writers never
// take it: they use the atomics on Session and keypair.
type engine struct {
	server   bool
	conn     *net.UDPConn
	rc       syscall.RawConn
	v6       bool
	local    netip.AddrPort
	timing   Timing
	maxFrame int
	logf     func(format string, args ...any)
	epoch    time.Time
	st       counters

	rejectTime    int64
	rejectPackets uint64

	closed   atomic.Bool
	done     chan struct{}
	kick     chan struct{}
	wg       sync.WaitGroup
	stopOnce sync.Once

	mu          sync.Mutex
	index       map[uint32]*keypair // local index → key; a nil value reserves an index
	sessions    map[uint64]*Session // server: by session id (pending and established)
	established int
	srv         *serverState
	cli         *clientState
	denyTokens  float64
	denyLast    int64
	logLast     int64
	logHeld     int

	rx rxState // reader goroutine only
}

// rxState is the reader's preallocated receive machinery.
type rxState struct {
	hdr     [frames.BatchSize]unix.Mmsghdr
	iov     [frames.BatchSize]unix.Iovec
	names   [frames.BatchSize]rawName
	bufs    [frames.BatchSize][]byte
	got     int
	errno   syscall.Errno
	fn      func(fd uintptr) bool
	nonce   [12]byte
	ka      [tagLen]byte
	touched []*Session
	frames  uint64
	bytes   uint64
}

// newEngine binds a UDP socket on network/laddr and prepares (but does
// not start) the engine.
func newEngine(server bool, network string, laddr *net.UDPAddr, t Timing, maxFrame int, logf func(string, ...any)) (*engine, error) {
	conn, err := net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	rc, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return nil, err
	}
	var v6 bool
	var ctlErr error
	if err := rc.Control(func(fd uintptr) {
		sa, err := unix.Getsockname(int(fd))
		if err != nil {
			ctlErr = err
			return
		}
		_, v6 = sa.(*unix.SockaddrInet6)
	}); err != nil || ctlErr != nil {
		conn.Close()
		return nil, fmt.Errorf("cryptcab: getsockname: %v", errors.Join(err, ctlErr))
	}
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	maxFrame = min(maxFrame, frames.MaxJumbo-Overhead)
	if logf == nil {
		logf = func(string, ...any) {}
	}
	t = t.withDefaults()
	e := &engine{
		server: server, conn: conn, rc: rc, v6: v6, timing: t, maxFrame: maxFrame, logf: logf,
		epoch: time.Now(), done: make(chan struct{}), kick: make(chan struct{}, 1),
		index:      map[uint32]*keypair{},
		sessions:   map[uint64]*Session{},
		rejectTime: int64(t.rejectAfterTime()), rejectPackets: t.rejectAfterPackets(),
		denyTokens: denyBurst,
	}
	// Best effort: bursts of a fast link fit in the socket buffers (the
	// kernel caps these at net.core.rmem_max / wmem_max).
	conn.SetReadBuffer(socketBuffer)
	conn.SetWriteBuffer(socketBuffer)
	if ap, ok := conn.LocalAddr().(*net.UDPAddr); ok {
		e.local = ap.AddrPort()
	}
	// Room for the largest datagram plus one byte, so that anything longer
	// is seen as truncated.
	size := maxFrame + Overhead + 1
	slab := make([]byte, size*frames.BatchSize)
	for i := range e.rx.hdr {
		e.rx.bufs[i] = slab[i*size : (i+1)*size : (i+1)*size]
		e.rx.iov[i].Base = &e.rx.bufs[i][0]
		e.rx.iov[i].SetLen(size)
		e.rx.hdr[i].Hdr.Iov = &e.rx.iov[i]
		e.rx.hdr[i].Hdr.SetIovlen(1)
		e.rx.hdr[i].Hdr.Name = &e.rx.names[i].b[0]
	}
	e.rx.fn = e.recvmmsg
	return e, nil
}

// start runs the reader and housekeeping goroutines.
func (e *engine) start() {
	e.wg.Add(2)
	go e.readLoop()
	go e.timerLoop()
}

// now is the engine's monotonic clock in nanoseconds.
func (e *engine) now() int64 { return int64(time.Since(e.epoch)) }

// recvmmsg is the RawConn.Read callback (built once: no allocation per call).
func (e *engine) recvmmsg(fd uintptr) bool {
	for {
		r, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&e.rx.hdr[0])),
			uintptr(len(e.rx.hdr)), unix.MSG_DONTWAIT, 0, 0)
		switch errno {
		case 0:
			e.rx.got, e.rx.errno = int(r), 0
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		default:
			e.rx.got, e.rx.errno = 0, errno
			return true
		}
	}
}

// readLoop receives datagrams in batches and processes each batch under
// the engine lock.
func (e *engine) readLoop() {
	defer e.wg.Done()
	for {
		for i := range e.rx.hdr {
			e.rx.hdr[i].Hdr.Namelen = unix.SizeofSockaddrInet6
			e.rx.hdr[i].Hdr.Flags = 0
		}
		if err := e.rc.Read(e.rx.fn); err != nil {
			if e.closed.Load() || errors.Is(err, os.ErrClosed) || errors.Is(err, net.ErrClosed) {
				return
			}
			e.mu.Lock()
			e.logRate("receive: %v", err)
			e.mu.Unlock()
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if e.rx.errno != 0 {
			if e.rx.errno != unix.ECONNREFUSED {
				e.mu.Lock()
				e.logRate("receive: %v", e.rx.errno)
				e.mu.Unlock()
				time.Sleep(10 * time.Millisecond)
			}
			continue
		}
		now := e.now()
		e.mu.Lock()
		for i := 0; i < e.rx.got; i++ {
			h := &e.rx.hdr[i]
			n := int(h.Len)
			if h.Hdr.Flags&unix.MSG_TRUNC != 0 || n >= len(e.rx.bufs[i]) {
				e.st.malformed.Add(1)
				continue
			}
			name := &e.rx.names[i]
			name.n = h.Hdr.Namelen
			e.process(e.rx.bufs[i][:n], name, now)
		}
		e.flush()
		e.mu.Unlock()
	}
}

// process handles one datagram. Called with mu held.
func (e *engine) process(p []byte, from *rawName, now int64) {
	t, err := classify(p)
	if err != nil {
		e.st.malformed.Add(1)
		return
	}
	switch t {
	case typeData:
		e.receiveData(p, from, now)
	case typeInit:
		if e.srv == nil {
			e.st.unexpected.Add(1)
			return
		}
		e.handleInit(p, from, now)
	case typeResp:
		if e.cli == nil {
			e.st.unexpected.Add(1)
			return
		}
		e.handleResp(p, from, now)
	case typeDeny:
		if e.cli == nil {
			e.st.unexpected.Add(1)
			return
		}
		e.handleDeny(p, from, now)
	}
}

// flush hands each session the frames this batch delivered to it.
// Called with mu held.
func (e *engine) flush() {
	for i, s := range e.rx.touched {
		if s.pend != nil {
			s.push(s.pend)
			s.pend = nil
		}
		e.rx.touched[i] = nil
	}
	e.rx.touched = e.rx.touched[:0]
	if e.rx.frames > 0 {
		e.st.framesIn.Add(e.rx.frames)
		e.st.bytesIn.Add(e.rx.bytes)
		e.rx.frames, e.rx.bytes = 0, 0
	}
}

// newIndex reserves a random local index. Called with mu held.
func (e *engine) newIndex() uint32 {
	for {
		i := uint32(randUint64())
		if _, used := e.index[i]; !used && i != 0 {
			e.index[i] = nil
			return i
		}
	}
}

// sendControl sends a handshake or keepalive datagram. Errors are
// counted; the protocol retransmits what matters.
func (e *engine) sendControl(p []byte, to *rawName) {
	if _, err := e.conn.WriteToUDPAddrPort(p, to.addrPort()); err != nil {
		e.st.sendErrors.Add(1)
	}
}

// sendKeepalive sends an empty authenticated packet with kp. Called with
// mu held.
func (e *engine) sendKeepalive(s *Session, kp *keypair, now int64) {
	var p [Overhead]byte
	var nonce [12]byte
	ctr := kp.sendCtr.Add(1) - 1
	if ctr >= e.rejectPackets {
		return
	}
	putDataHeader(p[:], kp.remoteIndex, ctr)
	putNonce(&nonce, ctr)
	kp.send.Seal(p[:dataHeaderLen], nonce[:], nil, p[:dataHeaderLen])
	e.sendControl(p[:], &s.peerName)
	s.lastSend.Store(now)
	e.st.keepalivesOut.Add(1)
}

// usable reports whether kp may still protect packets.
func (e *engine) usable(kp *keypair, now int64) bool {
	return now-kp.created < e.rejectTime && kp.sendCtr.Load() < e.rejectPackets
}

// logRate logs at most one line per second and says how many it held back.
// Called with mu held.
func (e *engine) logRate(format string, args ...any) {
	now := e.now()
	if e.logLast != 0 && now-e.logLast < int64(time.Second) {
		e.logHeld++
		return
	}
	if e.logHeld > 0 {
		format += fmt.Sprintf(" (%d similar messages suppressed)", e.logHeld)
	}
	e.logLast, e.logHeld = now, 0
	e.logf(format, args...)
}

// deny answers a refused handshake or an unknown session, at most
// denyRate times per second overall (a DENY is smaller than what it
// answers, so it cannot amplify). Called with mu held.
func (e *engine) deny(reason byte, index uint32, to *rawName, now int64) {
	e.denyTokens += float64(now-e.denyLast) / float64(time.Second) * denyRate
	e.denyLast = now
	if e.denyTokens > denyBurst {
		e.denyTokens = denyBurst
	}
	if e.denyTokens < 1 {
		return
	}
	e.denyTokens--
	var p [denyLen]byte
	buildDeny(&p, reason, index)
	e.sendControl(p[:], to)
}

const (
	denyRate  = 20
	denyBurst = 20
)

// closeSessionLocked ends s: its keys leave the index, its reader sees err
// once the frames already queued are read. Called with mu held.
func (e *engine) closeSessionLocked(s *Session, err error) {
	if s.state == stateClosed {
		return
	}
	e.dropKeysLocked(s)
	if s.state == stateEstablished {
		e.established--
	}
	s.state = stateClosed
	s.err = err
	delete(e.sessions, s.id)
	if s.pend != nil {
		s.pend.Release()
		s.pend = nil
	}
	close(s.done)
}

// dropKeysLocked removes every key of s from the index.
func (e *engine) dropKeysLocked(s *Session) {
	for _, kp := range []*keypair{s.cur, s.prev, s.next} {
		if kp != nil {
			delete(e.index, kp.localIndex)
		}
	}
	s.cur, s.prev, s.next = nil, nil, nil
	s.send.Store(nil)
}

// stop closes the socket, ends the goroutines and closes every session
// with err. It is safe to call more than once.
func (e *engine) stop(err error) {
	e.stopOnce.Do(func() {
		e.closed.Store(true)
		close(e.done)
		e.conn.Close()
		if e.srv != nil {
			e.srv.stopTickets()
		}
		e.wg.Wait()
		e.mu.Lock()
		for _, s := range e.sessions {
			e.closeSessionLocked(s, err)
		}
		if e.cli != nil {
			e.closeSessionLocked(e.cli.sess, err)
		}
		e.mu.Unlock()
	})
}

// mapClosed turns the errors of a closed socket into transports.ErrClosed.
func (e *engine) mapClosed(err error) error {
	if e.closed.Load() || errors.Is(err, os.ErrClosed) || errors.Is(err, net.ErrClosed) {
		return transports.ErrClosed
	}
	return err
}
