package dgram

import (
	"errors"
	"fmt"
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

// Conn is one non-blocking datagram socket moving frames.Batch values with
// recvmmsg and sendmmsg. It implements transports.Endpoint,
// transports.NonBlocking and transports.DropCounter.
//
// Concurrency: ReadBatch calls are serialised among themselves, so are
// WriteBatch calls; one reader and one writer may run at the same time, and
// Close may be called from any goroutine at any time (it unblocks a pending
// ReadBatch). A blocked ReadBatch parks its goroutine in the netpoller and
// holds no OS thread.
type Conn struct {
	f     *os.File
	rc    syscall.RawConn
	fd    int
	max   int
	cfg   Config
	descr string

	closed atomic.Bool

	// read side, guarded by rmu
	rmu   sync.Mutex
	slots [frames.BatchSize]*frames.Buf
	rhdr  [frames.BatchSize]unix.Mmsghdr
	riov  [frames.BatchSize]unix.Iovec
	rwant int
	rgot  int
	// slotsWant is how many receive buffers a read offers: minSlots on a
	// new socket, doubled (up to frames.BatchSize) each time a read fills
	// them all, so an idle port holds a few buffers, not a batch's worth.
	slotsWant int
	rerrno    syscall.Errno
	readFn    func(fd uintptr) bool
	moreFn    func(fd uintptr) // one recvmmsg for ReadMore, EAGAIN = nothing
	emptyRL   rateLimiter

	// write side, guarded by wmu
	wmu     sync.Mutex
	whdr    [frames.BatchSize]unix.Mmsghdr
	wiov    [frames.BatchSize]unix.Iovec
	woff    int
	wn      int
	wsent   int
	werrno  syscall.Errno
	writeFn func(fd uintptr) bool
	waitFn  func(fd uintptr) bool
	errRL   rateLimiter

	readFrames, readBytes, truncated, runts, empty   atomic.Uint64
	writeFrames, writeBytes, writeAgain, writeErrors atomic.Uint64
}

// New wraps fd, a datagram socket (normally already connected), in a Conn.
// The Conn takes ownership of fd: it sets O_NONBLOCK, registers fd with the
// netpoller and closes it on Close. On error fd is closed too.
func New(fd int, cfg Config) (*Conn, error) {
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("dgram: set non-blocking: %w", err)
	}
	if cfg.SendBuffer > 0 {
		setSendBuffer(fd, cfg.SendBuffer)
	}
	f := os.NewFile(uintptr(fd), "dgram")
	if f == nil {
		unix.Close(fd)
		return nil, errors.New("dgram: invalid fd")
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("dgram: %w", err)
	}
	c := &Conn{f: f, rc: rc, fd: fd, cfg: cfg, descr: cfg.Descr, slotsWant: minSlots}
	c.max = cfg.MaxFrame
	if c.max <= 0 {
		c.max = DefaultMaxFrame
	}
	if c.max > frames.MaxJumbo {
		c.max = frames.MaxJumbo
	}
	iv := cfg.ErrorInterval
	if iv <= 0 {
		iv = DefaultErrorInterval
	}
	c.emptyRL.interval, c.errRL.interval = iv, iv
	for i := range c.rhdr {
		c.rhdr[i].Hdr.Iov = &c.riov[i]
		c.rhdr[i].Hdr.SetIovlen(1)
		c.whdr[i].Hdr.Iov = &c.wiov[i]
		c.whdr[i].Hdr.SetIovlen(1)
	}
	// The closures are built once so that ReadBatch and WriteBatch do not
	// allocate one per call.
	c.readFn = c.recvmmsg
	c.moreFn = func(fd uintptr) {
		if !c.recvmmsg(fd) {
			c.rgot, c.rerrno = 0, 0
		}
	}
	c.writeFn = c.sendmmsg
	c.waitFn = c.sendmmsgWait
	return c, nil
}

// setSendBuffer asks for SO_SNDBUF n on fd: forced past net.core.wmem_max
// when the process may, else as much as wmem_max allows.
func setSendBuffer(fd, n int) {
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, n) == nil {
		return
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, n)
}

// NewPair returns two Conns connected to each other through
// socketpair(AF_UNIX, SOCK_DGRAM), both configured with cfg. Useful for
// tests, benchmarks and in-process cables.
func NewPair(cfg Config) (*Conn, *Conn, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("dgram: socketpair: %w", err)
	}
	a, err := New(fds[0], cfg)
	if err != nil {
		unix.Close(fds[1])
		return nil, nil, err
	}
	b, err := New(fds[1], cfg)
	if err != nil {
		a.Close()
		return nil, nil, err
	}
	return a, b, nil
}

// Fd returns the socket's file descriptor number (vde_switch uses it as the
// endpoint id). The fd stays owned by the Conn: do not close it, and do not
// use it after Close (use Control for system calls on it).
func (c *Conn) Fd() int { return c.fd }

// MaxFrame returns the truncation length of ReadBatch.
func (c *Conn) MaxFrame() int { return c.max }

// Control runs f with the socket's fd, which stays open until f returns
// (e.g. for bind or setsockopt). It returns transports.ErrClosed after
// Close, otherwise f's error.
func (c *Conn) Control(f func(fd int) error) error {
	var ferr error
	err := c.rc.Control(func(fd uintptr) { ferr = f(int(fd)) })
	if err != nil {
		return c.mapClosed(err)
	}
	return ferr
}

// recvmmsg is the RawConn.Read callback: one non-blocking recvmmsg into the
// first rwant slots. It returns false (wait for readability) on EAGAIN.
// jumboSlots is how many receive buffers a socket whose frames may exceed
// the standard class keeps (8 × 64 KiB instead of 64 × 64 KiB).
const jumboSlots = 8

// minSlots is the number of receive buffers a new socket offers a read.
const minSlots = 8

// recvmmsg and sendmmsg use raw syscalls: with MSG_DONTWAIT they never
// block, so telling the scheduler about them (entersyscall/exitsyscall,
// with its P hand-offs) only costs time.
func (c *Conn) recvmmsg(fd uintptr) bool {
	for {
		r, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&c.rhdr[0])),
			uintptr(c.rwant), unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			c.rgot, c.rerrno = int(r), 0
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		default:
			c.rgot, c.rerrno = 0, e
			return true
		}
	}
}

// sendmmsgWait is the RawConn.Write callback of WaitWriteBatch: it asks the
// netpoller to wait for writability on EAGAIN (the poller is armed before
// the call, so a peer draining its queue after the EAGAIN is not missed).
func (c *Conn) sendmmsgWait(fd uintptr) bool {
	c.sendmmsg(fd)
	return c.werrno != unix.EAGAIN
}

// sendmmsg is the RawConn.Write callback: one sendmmsg of whdr[woff:wn]. It
// never asks to wait.
func (c *Conn) sendmmsg(fd uintptr) bool {
	for {
		r, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&c.whdr[c.woff])),
			uintptr(c.wn-c.woff), unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			c.wsent, c.werrno = 0, e
		} else {
			c.wsent, c.werrno = int(r), 0
		}
		return true
	}
}

// ReadBatch waits until the socket is readable, then receives with one
// recvmmsg as many datagrams as fit in b's free space and appends them to b
// (the references pass to b). Datagrams longer than MaxFrame are truncated;
// shorter than frames.MinFrame are dropped and counted, and ReadBatch keeps
// waiting until it has at least one frame. With no free space in b it
// returns nil at once.
//
// It returns transports.ErrClosed after Close; other socket errors are
// returned as is (ECONNREFUSED, which a connected UDP socket reports after
// an ICMP error, is ignored).
func (c *Conn) ReadBatch(b *frames.Batch) error {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.closed.Load() {
		return transports.ErrClosed
	}
	if c.prepare(b) <= 0 {
		return nil
	}
	for {
		if err := c.rc.Read(c.readFn); err != nil {
			return c.mapClosed(err)
		}
		switch c.rerrno {
		case 0:
		case unix.ECONNREFUSED:
			continue
		default:
			return c.rerrno
		}
		if c.collect(b) > 0 {
			return nil
		}
		c.prepare(b)
	}
}

// ReadMore appends to b what one non-blocking recvmmsg returns now, without
// waiting (0 frames when the socket is empty). It implements
// transports.MoreReader.
func (c *Conn) ReadMore(b *frames.Batch) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.closed.Load() {
		return 0, transports.ErrClosed
	}
	if c.prepare(b) <= 0 {
		return 0, nil
	}
	err := c.rc.Control(c.moreFn)
	if err != nil {
		return 0, c.mapClosed(err)
	}
	switch c.rerrno {
	case 0, unix.ECONNREFUSED:
	default:
		return 0, c.rerrno
	}
	return c.collect(b), nil
}

// prepare fills the receive slots for b's free space and sets rwant, the
// number of datagrams the next recvmmsg asks for (0 when b is full), which
// it returns. Called with rmu held.
func (c *Conn) prepare(b *frames.Batch) int {
	want := min(frames.BatchSize-b.N, c.slotsWant)
	if c.max > frames.MaxStd && want > jumboSlots {
		// jumbo buffers are 64 KiB: keep fewer of them waiting per socket
		want = jumboSlots
	}
	for i := 0; i < want; i++ {
		if c.slots[i] == nil {
			buf := frames.Get(c.max)
			c.slots[i] = buf
			sp := buf.Space()
			n := c.max
			if n > len(sp) {
				n = len(sp)
			}
			c.riov[i].Base = &sp[0]
			c.riov[i].SetLen(n)
		}
		c.rhdr[i].Hdr.Flags = 0
	}
	c.rwant = want
	return want
}

// collect moves the rgot datagrams received into b (runts and empty ones
// are counted and left out) and returns how many frames it added. Called
// with rmu held.
func (c *Conn) collect(b *frames.Batch) int {
	added := 0
	var empties uint64
	for i := 0; i < c.rgot; i++ {
		h := &c.rhdr[i]
		n := int(h.Len)
		switch {
		case n == 0:
			empties++
			continue
		case n < frames.MinFrame:
			c.runts.Add(1)
			continue
		}
		if h.Hdr.Flags&unix.MSG_TRUNC != 0 {
			c.truncated.Add(1)
		}
		buf := c.slots[i]
		c.slots[i] = nil
		buf.SetLen(n)
		b.Add(buf)
		added++
		c.readBytes.Add(uint64(n))
	}
	if c.rgot == c.rwant && c.slotsWant < frames.BatchSize {
		// every slot was used: the socket has traffic, read more at once
		c.slotsWant = min(2*c.slotsWant, frames.BatchSize)
	}
	c.rgot = 0
	if empties > 0 {
		c.empty.Add(empties)
		if c.cfg.OnEmpty != nil {
			if ok, s := c.emptyRL.allow(time.Now(), empties); ok {
				c.cfg.OnEmpty(s)
			}
		}
	}
	if added > 0 {
		c.readFrames.Add(uint64(added))
	}
	return added
}

// WriteBatch sends every frame of b with sendmmsg and MSG_DONTWAIT. It never
// blocks: frames the socket cannot take now are dropped and counted
// (Stats.WriteAgain), frames failing with any other error are dropped,
// counted (Stats.WriteErrors) and reported through Config.OnWriteError.
// Neither is an error of WriteBatch, which returns only
// transports.ErrClosed (after Close). The caller keeps ownership of b.
func (c *Conn) WriteBatch(b *frames.Batch) error {
	_, err := c.write(b, 0, writeDrop)
	return err
}

// WritePartial, WriteWait and AddWriteDrops are what an endpoint built on a
// Conn needs to implement transports.PartialWriter (the names differ so that
// types embedding a Conn with their own WriteBatch rules do not become
// PartialWriters by accident).
//
// WritePartial sends frames
// b.Frames[from:b.N] without blocking and stops at the first one the socket
// cannot take now (EAGAIN), returning the index of that frame (b.N when all
// went). Frames failing with other errors are dropped and counted as in
// WriteBatch. The caller keeps ownership of b.
func (c *Conn) WritePartial(b *frames.Batch, from int) (int, error) {
	return c.write(b, from, writeTry)
}

// WriteWait is like WritePartial,
// but when the socket is full it waits (parked in the netpoller) until the
// peer drains it, until deadline (a zero deadline waits for ever) or until
// Close. It returns the index of the first frame not sent, and
// os.ErrDeadlineExceeded when the deadline passed first.
func (c *Conn) WriteWait(b *frames.Batch, from int, deadline time.Time) (int, error) {
	if !deadline.IsZero() {
		if err := c.f.SetWriteDeadline(deadline); err != nil {
			return from, c.mapClosed(err)
		}
		defer c.f.SetWriteDeadline(time.Time{})
	}
	return c.write(b, from, writeWait)
}

type writeMode int

const (
	writeDrop writeMode = iota // drop what the socket cannot take now
	writeTry                   // stop at the first frame it cannot take
	writeWait                  // wait until it can take them
)

func (c *Conn) write(b *frames.Batch, from int, mode writeMode) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed.Load() {
		return from, transports.ErrClosed
	}
	n := b.N
	if from >= n {
		return n, nil
	}
	for i, f := range b.Frames[:n] {
		if i < from {
			continue
		}
		p := f.Bytes()
		c.wiov[i].Base = unsafe.SliceData(p)
		c.wiov[i].SetLen(len(p))
	}
	c.wn = n
	off := from
	var sentBytes uint64
	fn := c.writeFn
	if mode == writeWait {
		fn = c.waitFn
	}
	defer c.clearWrite(n)
	for off < n {
		c.woff = off
		if err := c.rc.Write(fn); err != nil {
			c.writeBytes.Add(sentBytes)
			return off, c.mapClosed(err)
		}
		if c.werrno == 0 {
			for i := off; i < off+c.wsent; i++ {
				sentBytes += uint64(c.wiov[i].Len)
			}
			c.writeFrames.Add(uint64(c.wsent))
			off += c.wsent
			continue
		}
		switch c.werrno {
		case unix.EAGAIN, unix.ENOBUFS:
			// The peer's queue (our send buffer) is full: everything left
			// would fail the same way now.
			if mode == writeTry { // (writeWait only gets here with ENOBUFS)
				c.writeBytes.Add(sentBytes)
				return off, nil
			}
			c.writeAgain.Add(uint64(n - off))
			off = n
		case unix.EMSGSIZE:
			// This frame only.
			c.writeErrors.Add(1)
			c.reportWrite(c.werrno, 1)
			off++
		default:
			// ECONNREFUSED, ENOTCONN, EPIPE...: the peer is gone for now.
			c.writeErrors.Add(uint64(n - off))
			c.reportWrite(c.werrno, uint64(n-off))
			off = n
		}
	}
	c.writeBytes.Add(sentBytes)
	return off, nil
}

// AddWriteDrops counts n frames a caller dropped because the socket stayed
// full (they show in Stats.WriteAgain and Drops like WriteBatch's drops).
func (c *Conn) AddWriteDrops(n int) { c.writeAgain.Add(uint64(n)) }

// clearWrite drops the iovec references to the caller's frames.
func (c *Conn) clearWrite(n int) {
	for i := range c.wiov[:n] {
		c.wiov[i].Base = nil
	}
}

func (c *Conn) reportWrite(err error, n uint64) {
	if c.cfg.OnWriteError == nil {
		return
	}
	if ok, s := c.errRL.allow(time.Now(), n); ok {
		c.cfg.OnWriteError(err, s)
	}
}

// WriteNeverBlocks implements transports.NonBlocking: always true.
func (c *Conn) WriteNeverBlocks() bool { return true }

// Drops implements transports.DropCounter: frames dropped on write (EAGAIN
// and errors) and datagrams ignored on read (runts and empty ones).
func (c *Conn) Drops() (write, read uint64) {
	return c.writeAgain.Load() + c.writeErrors.Load(), c.runts.Load() + c.empty.Load()
}

// Stats returns a snapshot of the counters.
func (c *Conn) Stats() Stats {
	return Stats{
		ReadFrames: c.readFrames.Load(), ReadBytes: c.readBytes.Load(),
		Truncated: c.truncated.Load(), Runts: c.runts.Load(), Empty: c.empty.Load(),
		WriteFrames: c.writeFrames.Load(), WriteBytes: c.writeBytes.Load(),
		WriteAgain: c.writeAgain.Load(), WriteErrors: c.writeErrors.Load(),
	}
}

// Describe implements transports.Endpoint: Config.Descr.
func (c *Conn) Describe() string { return c.descr }

// Close closes the socket, unblocking a pending ReadBatch (which returns
// transports.ErrClosed), and returns the receive buffers to their pool. It
// is safe to call more than once and from any goroutine.
func (c *Conn) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	err := c.f.Close()
	c.rmu.Lock()
	for i, buf := range c.slots {
		if buf != nil {
			buf.Release()
			c.slots[i] = nil
			c.riov[i].Base = nil
		}
	}
	c.rmu.Unlock()
	return err
}

// mapClosed turns the errors of a closed file (os.ErrClosed, or the poller's
// "use of closed file" for an operation interrupted by Close) into
// transports.ErrClosed.
func (c *Conn) mapClosed(err error) error {
	if c.closed.Load() || errors.Is(err, os.ErrClosed) {
		return transports.ErrClosed
	}
	return err
}
