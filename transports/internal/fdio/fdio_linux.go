// Package fdio moves frames through a non-blocking file descriptor that
// carries exactly one frame per read(2) and per write(2): a tap device, a
// SOCK_SEQPACKET socket. The fd is registered with Go's netpoller, so a
// blocked reader parks its goroutine and holds no OS thread.
//
// Reading fills a whole frames.Batch with every frame readable now (one
// read per frame, until EAGAIN or the batch is full). Frame memory comes
// from the frames pools without a per-frame allocation; a frame longer than
// a standard buffer is read with readv into a standard buffer plus a
// per-Packet spill area and copied into a jumbo buffer, and after a jumbo
// frame the reader reads straight into jumbo buffers for a while (so a
// stream of jumbo frames costs no extra copy and a stream of small frames
// uses no jumbo memory).
package fdio

import (
	"errors"
	"io"
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

// jumboReads is how many reads stay in jumbo mode after a jumbo frame.
const jumboReads = 64

// Config configures a Packet. The zero value is usable.
type Config struct {
	// MaxFrame is the longest frame read: longer frames are truncated to it
	// (the fd only hands over MaxFrame bytes). 0 or anything above
	// frames.MaxJumbo means frames.MaxJumbo.
	MaxFrame int
	// Descr is what Describe returns.
	Descr string
	// BlockingWrites makes WriteBatch wait until the fd takes each frame
	// (backpressure, for sockets). Without it a frame the fd refuses with
	// EAGAIN is dropped and counted, and WriteBatch never blocks (taps).
	BlockingWrites bool
	// EOFOnZero makes a zero-byte read the end of the input (a
	// SOCK_SEQPACKET peer that closed); otherwise zero-byte reads are
	// ignored and counted.
	EOFOnZero bool
	// VnetHdr says the fd is a tap opened with IFF_VNET_HDR, a vnet header
	// size of offload.HdrLen and TCP offloads on: every read starts with a
	// virtio-net header and may be a TCP super-packet, which ReadBatch cuts
	// into ordinary frames (completing partial checksums); WriteBatch puts
	// a virtio-net header in front of every write and merges consecutive
	// segments of a TCP flow into super-packets (see vnet_linux.go). Not
	// with BlockingWrites.
	VnetHdr bool
}

// Stats are a Packet's counters since creation.
type Stats struct {
	ReadFrames, ReadBytes   uint64
	Runts, Empty            uint64 // reads of 1..13 bytes, of 0 bytes (ignored)
	WriteFrames, WriteBytes uint64
	WriteAgain              uint64 // frames dropped because the fd could not take them (EAGAIN)
	WriteErrors             uint64 // frames refused with another per-frame error (EIO, EINVAL…)

	// VnetHdr only.
	GSOReads      uint64 // super-packets read (and cut into ReadFrames)
	BadReads      uint64 // reads dropped: malformed virtio-net header or packet
	GSOWrites     uint64 // super-packets written
	GSOWriteSegs  uint64 // frames merged into them
	GSOWriteFails uint64 // super-packets the fd refused (coalescing then stops)
}

// Packet is a frame-per-syscall fd. It implements transports.Endpoint and
// transports.DropCounter, and transports.NonBlocking when BlockingWrites is
// off.
//
// Concurrency: ReadBatch calls are serialised among themselves, so are
// WriteBatch calls; one reader and one writer may run at the same time, and
// Close may be called from any goroutine at any time (it unblocks a pending
// ReadBatch, and a WriteBatch waiting for writability).
type Packet struct {
	f     *os.File
	rc    syscall.RawConn
	fd    int
	max   int
	cfg   Config
	descr string

	closed atomic.Bool

	// read side, guarded by rmu
	rmu       sync.Mutex
	rb        *frames.Batch // the batch readFn fills
	cur       *frames.Buf   // the buffer the next read goes to, kept across calls
	spill     []byte        // max-MaxStd bytes, nil when max <= MaxStd
	jumboLeft int           // reads left in jumbo mode
	riov      [2]unix.Iovec
	rerr      error // sticky: reported once the frames read before it are out
	readFn    func(fd uintptr) bool

	// write side, guarded by wmu
	wmu     sync.Mutex
	wb      *frames.Batch
	wi      int
	werr    error
	writeFn func(fd uintptr) bool

	vnet vnetState // VnetHdr only

	readFrames, readBytes, runts, empty              atomic.Uint64
	writeFrames, writeBytes, writeAgain, writeErrors atomic.Uint64
	gsoReads, badReads, gsoWrites, gsoWriteSegs      atomic.Uint64
	gsoWriteFails                                    atomic.Uint64
}

// New wraps fd, which carries one frame per read and write. The Packet
// takes ownership of fd: it makes it non-blocking, registers it with the
// netpoller and closes it on Close. On error fd is closed too.
func New(fd int, cfg Config) (*Packet, error) {
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	f := os.NewFile(uintptr(fd), cfg.Descr)
	if f == nil {
		unix.Close(fd)
		return nil, unix.EBADF
	}
	return NewFile(f, cfg)
}

// NewFile wraps f, an *os.File whose non-blocking fd Go's netpoller already
// watches (os.NewFile of a non-blocking fd, as github.com/songgao/water
// makes). The Packet takes ownership of f and closes it on Close; on error
// f is closed too.
func NewFile(f *os.File, cfg Config) (*Packet, error) {
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		f.Close()
		return nil, errors.New("fdio: the file is not in non-blocking mode")
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	var fd int
	if err := rc.Control(func(u uintptr) { fd = int(u) }); err != nil {
		f.Close()
		return nil, err
	}
	p := &Packet{f: f, rc: rc, fd: fd, cfg: cfg, descr: cfg.Descr}
	p.max = cfg.MaxFrame
	if p.max <= 0 || p.max > frames.MaxJumbo {
		p.max = frames.MaxJumbo
	}
	p.readFn = p.read
	p.writeFn = p.write
	switch {
	case cfg.VnetHdr && cfg.BlockingWrites:
		f.Close()
		return nil, errors.New("fdio: VnetHdr with BlockingWrites")
	case cfg.VnetHdr:
		p.vnet.init()
		p.readFn = p.readVnet
		p.writeFn = p.writeVnet
	case p.max > frames.MaxStd:
		p.spill = make([]byte, p.max-frames.MaxStd)
	}
	return p, nil
}

// Fd returns the file descriptor (vde_switch shows it as the endpoint id).
// It stays owned by the Packet.
func (p *Packet) Fd() int { return p.fd }

// MaxFrame returns the longest frame ReadBatch returns.
func (p *Packet) MaxFrame() int { return p.max }

// read is the RawConn.Read callback: it reads frames into p.rb until the fd
// has nothing more (EAGAIN), the batch is full or an error or the end
// comes. It returns false (wait for readability) only when it read nothing.
func (p *Packet) read(fd uintptr) bool {
	b := p.rb
	got := false
	for !b.Full() {
		jumbo := p.spill == nil || p.jumboLeft > 0
		if jumbo && p.cur != nil && p.cur.Cap() < p.max {
			p.cur.Release() // a standard buffer left by the last spill
			p.cur = nil
		}
		if p.cur == nil {
			size := frames.MaxStd
			if jumbo {
				size = p.max
			}
			p.cur = frames.Get(size)
		}
		sp := p.cur.Space()
		n0 := min(len(sp), p.max)
		p.riov[0].Base = &sp[0]
		p.riov[0].SetLen(n0)
		niov := 1
		if n0 < p.max {
			p.riov[1].Base = &p.spill[0]
			p.riov[1].SetLen(p.max - n0)
			niov = 2
		}
		r, _, e := unix.Syscall(unix.SYS_READV, fd, uintptr(unsafe.Pointer(&p.riov[0])), uintptr(niov))
		switch e {
		case 0:
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return got
		default:
			p.rerr = e
			return true
		}
		n := int(r)
		switch {
		case n == 0:
			if p.cfg.EOFOnZero {
				p.rerr = io.EOF
				return true
			}
			p.empty.Add(1)
			continue
		case n < frames.MinFrame:
			p.runts.Add(1)
			continue
		}
		var f *frames.Buf
		if n > n0 {
			// The frame ran into the spill area: assemble it in a jumbo
			// buffer and keep the standard one for the next read.
			f = frames.Get(n)
			copy(f.Space(), sp[:n0])
			copy(f.Space()[n0:], p.spill[:n-n0])
		} else {
			f, p.cur = p.cur, nil
		}
		f.SetLen(n)
		b.Add(f)
		got = true
		p.readBytes.Add(uint64(n))
		p.readFrames.Add(1)
		if p.spill != nil {
			if n > frames.MaxStd {
				p.jumboLeft = jumboReads
			} else if p.jumboLeft > 0 {
				p.jumboLeft--
			}
		}
	}
	return true
}

// ReadBatch waits until the fd is readable, then appends to b every frame
// readable now (up to b's free space); the references pass to b. Reads of
// fewer than frames.MinFrame bytes are dropped and counted. With no free
// space in b it returns nil at once.
//
// It returns io.EOF at the end of the input (EOFOnZero), the fd's error
// (e.g. EBADFD when a tap interface was deleted), or transports.ErrClosed
// after Close; an error that comes after some frames is returned by the
// next call, once those frames are delivered.
func (p *Packet) ReadBatch(b *frames.Batch) error {
	p.rmu.Lock()
	defer p.rmu.Unlock()
	if p.closed.Load() {
		return transports.ErrClosed
	}
	if p.rerr != nil {
		return p.rerr
	}
	if b.Full() {
		return nil
	}
	n0 := b.N
	p.rb = b
	err := p.rc.Read(p.readFn)
	p.rb = nil
	if err != nil {
		return p.mapClosed(err)
	}
	if b.N > n0 {
		return nil
	}
	return p.rerr
}

// write is the RawConn.Write callback: it writes p.wb's frames from p.wi
// on, one write(2) each. On EAGAIN it asks to wait (BlockingWrites) or
// drops the rest of the batch.
func (p *Packet) write(fd uintptr) bool {
	b := p.wb
	for p.wi < b.N {
		f := b.Frames[p.wi].Bytes()
		if len(f) == 0 {
			p.wi++
			continue
		}
		_, _, e := unix.Syscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(&f[0])), uintptr(len(f)))
		switch e {
		case 0:
			p.writeFrames.Add(1)
			p.writeBytes.Add(uint64(len(f)))
			p.wi++
		case unix.EINTR:
		case unix.EAGAIN:
			if p.cfg.BlockingWrites {
				return false
			}
			p.writeAgain.Add(uint64(b.N - p.wi))
			p.wi = b.N
		case unix.EBADF, unix.EBADFD, unix.EPIPE, unix.ECONNRESET, unix.ENOTCONN:
			// The fd is unusable (tap deleted, peer gone).
			p.werr = e
			return true
		default:
			// This frame only (EIO on a tap that is down, EINVAL, EMSGSIZE…).
			p.writeErrors.Add(1)
			p.wi++
		}
	}
	return true
}

// WriteBatch writes every frame of b, one write(2) each. The caller keeps
// ownership of b. Without BlockingWrites it never blocks: frames the fd
// cannot take now are dropped and counted; with it, it waits until the fd
// takes each frame. A frame refused with a per-frame error (EIO on a tap
// that is down, EMSGSIZE) is dropped and counted; the error of an unusable
// fd (EBADFD, EPIPE, ECONNRESET) is returned, transports.ErrClosed after
// Close.
func (p *Packet) WriteBatch(b *frames.Batch) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if p.closed.Load() {
		return transports.ErrClosed
	}
	if p.werr != nil {
		return p.werr
	}
	p.wb, p.wi = b, 0
	err := p.rc.Write(p.writeFn)
	p.wb = nil
	if err != nil {
		return p.mapClosed(err)
	}
	return p.werr
}

// WriteNeverBlocks implements transports.NonBlocking: true unless
// BlockingWrites.
func (p *Packet) WriteNeverBlocks() bool { return !p.cfg.BlockingWrites }

// Drops implements transports.DropCounter.
func (p *Packet) Drops() (write, read uint64) {
	return p.writeAgain.Load() + p.writeErrors.Load(), p.runts.Load() + p.empty.Load() + p.badReads.Load()
}

// Stats returns a snapshot of the counters.
func (p *Packet) Stats() Stats {
	return Stats{
		ReadFrames: p.readFrames.Load(), ReadBytes: p.readBytes.Load(),
		Runts: p.runts.Load(), Empty: p.empty.Load(),
		WriteFrames: p.writeFrames.Load(), WriteBytes: p.writeBytes.Load(),
		WriteAgain: p.writeAgain.Load(), WriteErrors: p.writeErrors.Load(),
		GSOReads: p.gsoReads.Load(), BadReads: p.badReads.Load(),
		GSOWrites: p.gsoWrites.Load(), GSOWriteSegs: p.gsoWriteSegs.Load(), GSOWriteFails: p.gsoWriteFails.Load(),
	}
}

// Describe implements transports.Endpoint: Config.Descr.
func (p *Packet) Describe() string { return p.descr }

// Close closes the fd, unblocking a pending ReadBatch (which returns
// transports.ErrClosed), and returns the read buffer to its pool. It is
// safe to call more than once and from any goroutine.
func (p *Packet) Close() error {
	if !p.closed.CompareAndSwap(false, true) {
		return nil
	}
	err := p.f.Close()
	p.rmu.Lock()
	if p.cur != nil {
		p.cur.Release()
		p.cur = nil
	}
	p.riov[0].Base, p.riov[1].Base = nil, nil
	p.vnet.seg.Reset()
	p.rmu.Unlock()
	return err
}

func (p *Packet) mapClosed(err error) error {
	if p.closed.Load() || errors.Is(err, os.ErrClosed) {
		return transports.ErrClosed
	}
	return err
}

var (
	_ transports.Endpoint    = (*Packet)(nil)
	_ transports.NonBlocking = (*Packet)(nil)
	_ transports.DropCounter = (*Packet)(nil)
)
