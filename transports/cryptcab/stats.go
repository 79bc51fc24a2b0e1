package cryptcab

import "sync/atomic"

// Stats are the counters of a client or a server since it started. Every
// datagram that is not delivered is counted under exactly one reason.
type Stats struct {
	// Sessions is the number of established sessions now.
	Sessions int
	// Handshakes counts sessions established; Rekeys counts key changes of
	// established sessions; HandshakeFailures counts initiations or
	// responses refused (bad MAC: wrong key; unknown ticket; no room).
	Handshakes, Rekeys, HandshakeFailures uint64
	// FramesIn/BytesIn: frames decrypted and delivered; FramesOut/BytesOut:
	// frames encrypted and handed to the kernel.
	FramesIn, BytesIn, FramesOut, BytesOut uint64
	// KeepalivesIn and KeepalivesOut count empty authenticated packets.
	KeepalivesIn, KeepalivesOut uint64

	// Receive drops, by reason.
	Malformed      uint64 // bad length, type, version or reserved bits, oversize
	UnknownSession uint64 // DATA naming no current key: expired or foreign session
	AuthFailed     uint64 // did not authenticate: tampered, truncated or foreign key
	Replayed       uint64 // counter already received (within the window)
	TooOld         uint64 // counter behind the replay window
	Expired        uint64 // key past its reject limits
	ForeignSource  uint64 // client: datagram not from its server
	Runts          uint64 // authenticated frame shorter than 14 bytes
	QueueFull      uint64 // the session's reader was too slow
	Unexpected     uint64 // valid framing, wrong direction or state (RESP to a server, stray DENY)

	// Send drops, by reason.
	NoKey      uint64 // no usable session key (handshake in progress)
	Oversize   uint64 // frame longer than the configured maximum
	SendErrors uint64 // the kernel refused the datagram
}

// counters are the live Stats; every field is updated atomically.
type counters struct {
	handshakes, rekeys, handshakeFailures                   atomic.Uint64
	framesIn, bytesIn, framesOut, bytesOut                  atomic.Uint64
	keepalivesIn, keepalivesOut                             atomic.Uint64
	malformed, unknownSession, authFailed, replayed, tooOld atomic.Uint64
	expired, foreignSource, runts, queueFull, unexpected    atomic.Uint64
	noKey, oversize, sendErrors                             atomic.Uint64
}

func (c *counters) snapshot(sessions int) Stats {
	return Stats{
		Sessions:   sessions,
		Handshakes: c.handshakes.Load(), Rekeys: c.rekeys.Load(), HandshakeFailures: c.handshakeFailures.Load(),
		FramesIn: c.framesIn.Load(), BytesIn: c.bytesIn.Load(), FramesOut: c.framesOut.Load(), BytesOut: c.bytesOut.Load(),
		KeepalivesIn: c.keepalivesIn.Load(), KeepalivesOut: c.keepalivesOut.Load(),
		Malformed: c.malformed.Load(), UnknownSession: c.unknownSession.Load(), AuthFailed: c.authFailed.Load(),
		Replayed: c.replayed.Load(), TooOld: c.tooOld.Load(), Expired: c.expired.Load(),
		ForeignSource: c.foreignSource.Load(), Runts: c.runts.Load(), QueueFull: c.queueFull.Load(),
		Unexpected: c.unexpected.Load(),
		NoKey:      c.noKey.Load(), Oversize: c.oversize.Load(), SendErrors: c.sendErrors.Load(),
	}
}

// Dropped returns the sum of every receive-drop reason.
func (s Stats) Dropped() uint64 {
	return s.Malformed + s.UnknownSession + s.AuthFailed + s.Replayed + s.TooOld + s.Expired +
		s.ForeignSource + s.Runts + s.QueueFull + s.Unexpected
}
