package vxnet

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
)

// ctrlLen is the control buffer per message: room for one IPv4 or IPv6
// packet-info message (CMSG_SPACE(20) = 40 bytes on 64-bit Linux).
const ctrlLen = 64

// Packet describes one received datagram to a Filter. Its slices point into
// the Receiver's buffers and are valid only during the Accept call.
type Packet struct {
	// Sock is the index, in the list given to NewReceiver, of the socket
	// the datagram arrived on.
	Sock int
	// Header is the datagram's first min(length, HeaderLen) bytes.
	Header []byte
	// Frame is what follows the header, cut to the receiver's largest
	// frame (nil for datagrams shorter than the header).
	Frame []byte
	// Truncated reports that the datagram was longer than the header plus
	// the receiver's largest frame.
	Truncated bool
	// From is the sender.
	From Peer

	dst dstInfo
}

// HasDst reports whether the datagram's destination is known (the socket
// was opened with SocketConfig.PktInfo).
func (p *Packet) HasDst() bool { return p.dst.ok }

// Dst returns the datagram's destination address (unmapped for IPv4).
func (p *Packet) Dst() netip.Addr { return netip.AddrFrom16(p.dst.addr).Unmap() }

// DstIsMulticast reports whether the datagram was sent to a group.
func (p *Packet) DstIsMulticast() bool {
	if !p.dst.ok {
		return false
	}
	if p.dst.addr[10] == 0xff && p.dst.addr[11] == 0xff && p.dst.addr[0] == 0 {
		return p.dst.addr[12]&0xf0 == 0xe0
	}
	return p.dst.addr[0] == 0xff
}

// SpecDst returns, for IPv4 datagrams with packet info, the local address
// of the interface the datagram arrived on (ipi_spec_dst), and false
// otherwise.
func (p *Packet) SpecDst() (netip.Addr, bool) {
	if !p.dst.ok || p.dst.specDst == [4]byte{} {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(p.dst.specDst), true
}

// Filter decides what becomes of each received datagram.
type Filter interface {
	// Accept is called once per datagram, on the goroutine calling
	// ReadBatch. It returns true to deliver p.Frame as a frame (then
	// len(p.Frame) >= frames.MinFrame must hold), false to drop the
	// datagram (the filter counts why). It must not block or keep p.
	Accept(p *Packet) bool
}

// ReceiverStats are a Receiver's counters since creation.
type ReceiverStats struct {
	// Frames and Bytes count frames ReadBatch returned.
	Frames, Bytes uint64
	// Truncated counts frames longer than the receiver's largest frame,
	// returned truncated (also counted in Frames).
	Truncated uint64
	// Filtered counts datagrams the filter refused.
	Filtered uint64
}

// Receiver reads vx datagrams from one or more UDP sockets with recvmmsg,
// the header into a small per-message array and the frame straight into a
// pooled frame buffer, and hands each datagram to a Filter. It waits through
// an epoll descriptor holding all the sockets, registered with Go's
// netpoller, so one goroutine serves several sockets without holding an OS
// thread while idle.
//
// Concurrency: ReadBatch calls are serialised; Close may be called from any
// goroutine and unblocks a pending ReadBatch. The Receiver does not own the
// sockets: close them only after Close has returned.
type Receiver struct {
	socks     []*Socket
	fds       []int
	epf       *os.File
	rc        syscall.RawConn
	max       int
	copySmall bool
	filter    Filter
	closed    atomic.Bool

	mu     sync.Mutex
	slots  [frames.BatchSize]*frames.Buf
	hdr    [frames.BatchSize][HeaderLen]byte
	iov    [frames.BatchSize][2]unix.Iovec
	name   [frames.BatchSize]unix.RawSockaddrInet6
	ctrl   [frames.BatchSize][ctrlLen]byte
	msg    [frames.BatchSize]unix.Mmsghdr
	from   [frames.BatchSize]uint8
	want   int
	got    int
	errno  syscall.Errno
	next   int
	readFn func(uintptr) bool
	pkt    Packet

	frames, bytes, truncated, filtered atomic.Uint64
}

// NewReceiver returns a receiver over socks (at most 255) that returns
// frames of up to max bytes (clamped to frames.MaxJumbo) and asks f about
// every datagram. Frames of up to frames.MaxStd bytes are copied into
// standard-class buffers when max is larger, so that small frames never pin
// a jumbo buffer downstream.
func NewReceiver(socks []*Socket, max int, f Filter) (*Receiver, error) {
	if len(socks) == 0 || len(socks) > 255 {
		return nil, errors.New("vxnet: NewReceiver needs 1 to 255 sockets")
	}
	if max <= 0 || max > frames.MaxJumbo {
		max = frames.MaxJumbo
	}
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, &SocketError{Op: "epoll_create1", Err: err}
	}
	r := &Receiver{socks: socks, max: max, copySmall: max > frames.MaxStd, filter: f}
	for i, s := range socks {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(i)}
		if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, s.fd, &ev); err != nil {
			unix.Close(epfd)
			return nil, &SocketError{Op: "epoll_ctl", Err: err}
		}
		r.fds = append(r.fds, s.fd)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, &SocketError{Op: "epoll non-blocking", Err: err}
	}
	r.epf = os.NewFile(uintptr(epfd), "vx-epoll")
	if r.rc, err = r.epf.SyscallConn(); err != nil {
		r.epf.Close()
		return nil, fmt.Errorf("vxnet: %w", err)
	}
	for i := range r.msg {
		h := &r.msg[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&r.name[i]))
		h.Iov = &r.iov[i][0]
		h.SetIovlen(2)
		h.Control = &r.ctrl[i][0]
		r.iov[i][0].Base = &r.hdr[i][0]
		r.iov[i][0].SetLen(HeaderLen)
	}
	r.readFn = r.recv
	return r, nil
}

// Max returns the largest frame ReadBatch returns.
func (r *Receiver) Max() int { return r.max }

// recv is the RawConn.Read callback: one non-blocking recvmmsg per socket
// (starting with a different socket each time, for fairness) into the
// slots from got to want. It asks to wait only when every socket is empty.
func (r *Receiver) recv(uintptr) bool {
	r.got, r.errno = 0, 0
	n := len(r.fds)
	for k := 0; k < n && r.got < r.want; k++ {
		si := (r.next + k) % n
		for i := r.got; i < r.want; i++ {
			h := &r.msg[i].Hdr
			h.Namelen = unix.SizeofSockaddrInet6
			h.SetControllen(ctrlLen)
			h.Flags = 0
		}
	again:
		c, _, e := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(r.fds[si]), uintptr(unsafe.Pointer(&r.msg[r.got])),
			uintptr(r.want-r.got), unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			for i := r.got; i < r.got+int(c); i++ {
				r.from[i] = uint8(si)
			}
			r.got += int(c)
		case unix.EINTR:
			goto again
		case unix.EAGAIN, unix.ECONNREFUSED:
		default:
			r.errno = e
			return true
		}
	}
	r.next = (r.next + 1) % n
	return r.got > 0
}

// ReadBatch waits until a datagram is readable, receives as many as fit in
// b's free space, passes each to the filter and appends the accepted frames
// to b (the references pass to b). It keeps waiting until it has at least
// one frame. With no free space in b it returns nil at once. It returns
// transports.ErrClosed after Close, or a socket error.
func (r *Receiver) ReadBatch(b *frames.Batch) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed.Load() {
		return transports.ErrClosed
	}
	want := frames.BatchSize - b.N
	if want <= 0 {
		return nil
	}
	for {
		for i := 0; i < want; i++ {
			if r.slots[i] == nil {
				buf := frames.Get(r.max)
				r.slots[i] = buf
				sp := buf.Space()
				n := r.max
				if n > len(sp) {
					n = len(sp)
				}
				r.iov[i][1].Base = &sp[0]
				r.iov[i][1].SetLen(n)
			}
		}
		r.want = want
		if err := r.rc.Read(r.readFn); err != nil {
			if r.closed.Load() || errors.Is(err, os.ErrClosed) {
				return transports.ErrClosed
			}
			return err
		}
		if r.errno != 0 {
			return &SocketError{Op: "recvmmsg", Err: r.errno}
		}
		if r.deliver(b) > 0 {
			return nil
		}
	}
}

// deliver filters the received messages and moves accepted frames into b.
func (r *Receiver) deliver(b *frames.Batch) int {
	added := 0
	var nbytes uint64
	p := &r.pkt
	for i := 0; i < r.got; i++ {
		m := &r.msg[i]
		n := int(m.Len)
		p.Sock = int(r.from[i])
		p.Truncated = m.Hdr.Flags&unix.MSG_TRUNC != 0
		p.From = peerFrom(&r.name[i])
		parsePktinfo(r.ctrl[i][:], int(m.Hdr.Controllen), &p.dst)
		fl := 0
		if n < HeaderLen {
			p.Header, p.Frame = r.hdr[i][:n], nil
		} else {
			fl = n - HeaderLen
			p.Header, p.Frame = r.hdr[i][:], r.slots[i].Space()[:fl]
		}
		if !r.filter.Accept(p) {
			r.filtered.Add(1)
			continue
		}
		if p.Truncated {
			r.truncated.Add(1)
		}
		var f *frames.Buf
		if r.copySmall && fl <= frames.MaxStd {
			f = frames.Get(fl)
			f.SetLen(copy(f.Space(), p.Frame))
		} else {
			f = r.slots[i]
			r.slots[i] = nil
			f.SetLen(fl)
		}
		b.Add(f)
		added++
		nbytes += uint64(fl)
	}
	p.Header, p.Frame = nil, nil
	if added > 0 {
		r.frames.Add(uint64(added))
		r.bytes.Add(nbytes)
	}
	return added
}

// Stats returns a snapshot of the counters.
func (r *Receiver) Stats() ReceiverStats {
	return ReceiverStats{Frames: r.frames.Load(), Bytes: r.bytes.Load(), Truncated: r.truncated.Load(), Filtered: r.filtered.Load()}
}

// Close unblocks a pending ReadBatch (which returns transports.ErrClosed),
// waits for it, and returns the receive buffers to their pool. The sockets
// stay open. Safe to call more than once.
func (r *Receiver) Close() error {
	if !r.closed.CompareAndSwap(false, true) {
		return nil
	}
	err := r.epf.Close()
	r.mu.Lock()
	for i, buf := range r.slots {
		if buf != nil {
			buf.Release()
			r.slots[i] = nil
			r.iov[i][1].Base = nil
		}
	}
	r.mu.Unlock()
	return err
}
