package cryptcab

import (
	"github.com/govde/govde/frames"
)

// receiveData authenticates and delivers one DATA datagram (classify has
// checked its framing). Called by the reader with e.mu held. It allocates
// nothing: the frame is decrypted straight into a pooled buffer.
func (e *engine) receiveData(p []byte, from *rawName, now int64) {
	idx := dataIndex(p)
	kp := e.index[idx]
	if kp == nil {
		e.st.unknownSession.Add(1)
		if e.srv != nil {
			e.deny(denyUnknownIndex, idx, from, now)
		}
		return
	}
	s := kp.sess
	if e.cli != nil && !from.same(&e.cli.server) {
		e.st.foreignSource.Add(1)
		return
	}
	ctr := dataCounter(p)
	switch kp.replay.check(ctr) {
	case replaySeen:
		e.st.replayed.Add(1)
		return
	case replayTooOld:
		e.st.tooOld.Add(1)
		return
	}
	if ctr >= e.rejectPackets || now-kp.created >= e.rejectTime {
		e.st.expired.Add(1)
		return
	}
	plen := len(p) - Overhead
	var buf *frames.Buf
	var dst []byte
	if plen > 0 {
		buf = frames.Get(plen)
		dst = buf.Space()[:0]
	} else {
		dst = e.rx.ka[:0]
	}
	putNonce(&e.rx.nonce, ctr)
	if _, err := kp.recv.Open(dst, e.rx.nonce[:], p[dataHeaderLen:], p[:dataHeaderLen]); err != nil {
		if buf != nil {
			buf.Release()
		}
		e.st.authFailed.Add(1)
		return
	}
	kp.replay.accept(ctr)
	e.authenticated(s, kp, from, now)
	switch {
	case plen == 0:
		e.st.keepalivesIn.Add(1)
	case plen < frames.MinFrame:
		buf.Release()
		e.st.runts.Add(1)
	case s.state != stateEstablished:
		buf.Release()
		e.st.unexpected.Add(1)
	default:
		buf.SetLen(plen)
		e.deliver(s, buf)
	}
}

// authenticated updates s after a datagram authenticated with kp: the
// first packet under a server's new key confirms the handshake (a new
// session is established, or a rekey takes effect), a server follows a
// client whose address changed, and the session is alive.
func (e *engine) authenticated(s *Session, kp *keypair, from *rawName, now int64) {
	s.lastRecv = now
	if e.srv == nil {
		return
	}
	if kp == s.next {
		e.confirm(s, kp, from, now)
	}
	if kp == s.cur && !from.same(&s.peerName) {
		old := s.peerName.addrPort()
		s.peerName = *from
		p := *from
		s.peer.Store(&p)
		e.logf("session %016x moved from %v to %v", s.id, old, from.addrPort())
	}
}
