package vxnet

import (
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
)

// Router chooses where each frame goes.
type Router interface {
	// Route sets *to to the destination of frame p (at least
	// frames.MinFrame bytes) and returns true, or returns false to drop it
	// (the router counts why). It is called on the goroutine calling
	// WriteBatch, must not block and must not keep p.
	Route(p []byte, to *Peer) bool
}

// SenderStats are a Sender's counters since creation.
type SenderStats struct {
	// Frames and Bytes count frames the kernel accepted (Bytes without the
	// header).
	Frames, Bytes uint64
	// Dropped counts frames refused before sending: shorter than
	// frames.MinFrame, longer than the largest frame, or not routed.
	Dropped uint64
	// Errors counts frames the kernel refused (no route, message too long).
	Errors uint64
}

// Sender writes frames as vx datagrams on one UDP socket with sendmmsg: the
// constant header and the frame go out as two iovecs, each message to its
// own destination, with no copy.
//
// WriteBatch blocks while the socket's buffer is full (waiting in the
// netpoller), so a cable gets backpressure; a switch port puts such an
// endpoint behind a writer goroutine. Calls are serialised; Close of the
// socket unblocks a waiting WriteBatch.
type Sender struct {
	sock  *Socket
	max   int
	onErr func(err error, suppressed uint64)

	mu      sync.Mutex
	hdr     Header
	msg     [frames.BatchSize]unix.Mmsghdr
	iov     [frames.BatchSize][2]unix.Iovec
	name    [frames.BatchSize]unix.RawSockaddrInet6
	lens    [frames.BatchSize]int
	n, off  int
	sent    int
	errno   syscall.Errno
	writeFn func(uintptr) bool
	to      Peer
	errLast time.Time
	errSupp uint64

	frames, bytes, dropped, errors atomic.Uint64
}

// NewSender returns a sender on s putting h in front of every frame and
// refusing frames longer than max bytes. onErr, if not nil, is told about
// send errors at most once a second, with the number of failed frames not
// reported since; it runs on the writing goroutine and must not block.
func NewSender(s *Socket, h Header, max int, onErr func(err error, suppressed uint64)) *Sender {
	w := &Sender{sock: s, max: max, onErr: onErr, hdr: h}
	for i := range w.msg {
		m := &w.msg[i].Hdr
		m.Name = (*byte)(unsafe.Pointer(&w.name[i]))
		m.Iov = &w.iov[i][0]
		m.SetIovlen(2)
		w.iov[i][0].Base = &w.hdr[0]
		w.iov[i][0].SetLen(HeaderLen)
	}
	w.writeFn = w.send
	return w
}

// send is the RawConn.Write callback: one sendmmsg of msg[off:n]. It asks to
// wait for writability on EAGAIN.
func (w *Sender) send(fd uintptr) bool {
	for {
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&w.msg[w.off])),
			uintptr(w.n-w.off), unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL, 0, 0)
		switch e {
		case 0:
			w.sent, w.errno = int(r), 0
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		default:
			w.sent, w.errno = 0, e
			return true
		}
	}
}

// WriteBatch sends every frame of b that r routes, waiting while the
// socket's buffer is full. It returns only transports.ErrClosed (the socket
// was closed, possibly while waiting); frames the kernel refuses are counted
// and reported through onErr. The caller keeps ownership of b.
func (w *Sender) WriteBatch(b *frames.Batch, r Router) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, f := range b.Slice() {
		p := f.Bytes()
		if len(p) < frames.MinFrame || len(p) > w.max || !r.Route(p, &w.to) {
			w.dropped.Add(1)
			continue
		}
		w.msg[n].Hdr.Namelen = putSockaddr(&w.name[n], w.to, w.sock.v6)
		w.iov[n][1].Base = unsafe.SliceData(p)
		w.iov[n][1].SetLen(len(p))
		w.lens[n] = len(p)
		n++
	}
	if n == 0 {
		return nil
	}
	w.n = n
	var sentBytes uint64
	var err error
	for off := 0; off < n; {
		w.off = off
		if werr := w.sock.rc.Write(w.writeFn); werr != nil {
			// The only way RawConn.Write fails: the socket was closed
			// (os.ErrClosed before, "use of closed file" during the wait).
			err = transports.ErrClosed
			break
		}
		if w.errno == 0 {
			for i := off; i < off+w.sent; i++ {
				sentBytes += uint64(w.lens[i])
			}
			w.frames.Add(uint64(w.sent))
			off += w.sent
			continue
		}
		// The first message failed (no route to that peer, too long...):
		// skip it and go on with the others.
		w.errors.Add(1)
		w.report(w.errno, peerFrom(&w.name[off]))
		off++
	}
	w.bytes.Add(sentBytes)
	for i := 0; i < n; i++ {
		w.iov[i][1].Base = nil
	}
	return err
}

// report passes a send error to onErr, at most once a second.
func (w *Sender) report(err syscall.Errno, to Peer) {
	if w.onErr == nil {
		return
	}
	now := time.Now()
	if !w.errLast.IsZero() && now.Sub(w.errLast) < time.Second {
		w.errSupp++
		return
	}
	s := w.errSupp
	w.errLast, w.errSupp = now, 0
	w.onErr(&SocketError{Op: "send to", Addr: to.String(), Err: err}, s)
}

// Stats returns a snapshot of the counters.
func (w *Sender) Stats() SenderStats {
	return SenderStats{Frames: w.frames.Load(), Bytes: w.bytes.Load(), Dropped: w.dropped.Load(), Errors: w.errors.Load()}
}
