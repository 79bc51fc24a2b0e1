package cryptcab

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
)

// txState is a session writer's preallocated send machinery: one
// encrypted datagram buffer per batch slot (grown once to the largest
// frame seen), the mmsghdr and iovec arrays for sendmmsg, the peer
// address and the nonce. Guarded by Session.wmu.
type txState struct {
	hdr   [frames.BatchSize]unix.Mmsghdr
	iov   [frames.BatchSize]unix.Iovec
	bufs  [frames.BatchSize][]byte
	name  rawName
	nonce [12]byte
	off   int
	n     int
	sent  int
	errno syscall.Errno
	fn    func(fd uintptr) bool
}

// minSlot is the smallest datagram buffer a slot gets: room for a
// full-size Ethernet frame, so that ordinary traffic never grows a slot.
const minSlot = 1536 + Overhead

func (t *txState) init() {
	for i := range t.hdr {
		t.hdr[i].Hdr.Iov = &t.iov[i]
		t.hdr[i].Hdr.SetIovlen(1)
		t.hdr[i].Hdr.Name = &t.name.b[0]
	}
	t.fn = t.sendmmsg
}

// sendmmsg is the RawConn.Write callback: it asks to wait for
// writability when the socket buffer is full.
func (t *txState) sendmmsg(fd uintptr) bool {
	for {
		r, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&t.hdr[t.off])),
			uintptr(t.n-t.off), unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL, 0, 0)
		switch errno {
		case 0:
			t.sent, t.errno = int(r), 0
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		default:
			t.sent, t.errno = 0, errno
			return true
		}
	}
}

// seal encrypts frame fr with kp and counter ctr into slot i and returns
// the datagram. A slot grows (once) only for a frame larger than any it
// held before.
func (t *txState) seal(i int, kp *keypair, ctr uint64, fr []byte) []byte {
	need := dataHeaderLen + len(fr) + tagLen
	buf := t.bufs[i]
	if cap(buf) < need {
		buf = make([]byte, max(need, minSlot))
		t.bufs[i] = buf
	}
	buf = buf[:dataHeaderLen]
	putDataHeader(buf, kp.remoteIndex, ctr)
	putNonce(&t.nonce, ctr)
	return kp.send.Seal(buf, t.nonce[:], fr, buf[:dataHeaderLen])
}

// WriteBatch implements transports.Endpoint: it encrypts every frame of b
// with the session's current key and sends them with one sendmmsg (more
// if the kernel takes part of the batch), waiting while the socket buffer
// is full. The caller keeps ownership of b and its frames, which are not
// modified. Frames that cannot go now are dropped and counted, not
// errors: no usable key (a handshake is under way: the client starts one
// at once), longer than the maximum frame, refused by the kernel.
// WriteBatch returns only transports.ErrClosed (after Close, or once the
// socket is gone) or, for a server's session that ended, the reason it
// ended.
func (s *Session) WriteBatch(b *frames.Batch) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	e := s.e
	select {
	case <-s.done:
		return s.closeErr()
	default:
	}
	if b.N == 0 {
		return nil
	}
	now := e.now()
	kp := s.send.Load()
	if kp == nil || !e.usable(kp, now) {
		s.noKey.Add(uint64(b.N))
		e.st.noKey.Add(uint64(b.N))
		e.wantAttention()
		return nil
	}
	t := &s.tx
	t.name = *s.peer.Load()
	n := 0
	for _, f := range b.Slice() {
		fr := f.Bytes()
		if len(fr) > e.maxFrame {
			e.st.oversize.Add(1)
			s.writeErrs.Add(1)
			continue
		}
		ctr := kp.sendCtr.Add(1) - 1
		if ctr >= e.rejectPackets {
			s.noKey.Add(1)
			e.st.noKey.Add(1)
			continue
		}
		out := t.seal(n, kp, ctr, fr)
		t.iov[n].Base = &out[0]
		t.iov[n].SetLen(len(out))
		t.hdr[n].Hdr.Namelen = t.name.n
		n++
	}
	if kp.sendCtr.Load() >= e.timing.RekeyAfterPackets {
		e.wantAttention()
	}
	if n == 0 {
		return nil
	}
	t.n = n
	var sent, bytes uint64
	for off := 0; off < n; {
		t.off = off
		if err := e.rc.Write(t.fn); err != nil {
			return e.mapClosed(err)
		}
		if t.errno == 0 {
			for i := off; i < off+t.sent; i++ {
				bytes += t.iov[i].Len - Overhead
			}
			off += t.sent
			sent += uint64(t.sent)
			continue
		}
		if t.errno == unix.EMSGSIZE {
			e.st.sendErrors.Add(1)
			s.writeErrs.Add(1)
			off++
			continue
		}
		// EPERM (firewall), ENETUNREACH, EHOSTUNREACH...: the rest would
		// fail the same way now.
		e.st.sendErrors.Add(uint64(n - off))
		s.writeErrs.Add(uint64(n - off))
		break
	}
	e.st.bytesOut.Add(bytes)
	e.st.framesOut.Add(sent)
	s.lastSend.Store(now)
	return nil
}

// wantAttention wakes the housekeeping goroutine (a client then rekeys or
// reconnects at once). It never blocks.
func (e *engine) wantAttention() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

var _ transports.Endpoint = (*Session)(nil)
