package cryptcab

import "time"

// Defaults of Timing.
const (
	DefaultKeepalive         = 10 * time.Second
	DefaultSessionTimeout    = 120 * time.Second // vde_cryptcab's session expiry
	DefaultRekeyAfterTime    = 120 * time.Second
	DefaultRekeyAfterPackets = 1 << 30
	DefaultHandshakeRetry    = time.Second
	DefaultHandshakeTimeout  = 10 * time.Second
)

// Timing holds the protocol's timers and limits. The zero value of a field
// means its default.
type Timing struct {
	// Keepalive: a side that has sent nothing for this long sends an empty
	// authenticated packet, so that a quiet session stays alive. It is
	// capped at a third of SessionTimeout.
	Keepalive time.Duration
	// SessionTimeout: a server ends a session it has heard nothing valid
	// from for this long (the switch port goes away); a client that hears
	// nothing from its server for this long makes a new session.
	SessionTimeout time.Duration
	// RekeyAfterTime and RekeyAfterPackets: the client makes fresh keys
	// (a new X25519 exchange) when the current ones are this old or have
	// protected this many packets in either direction. Keys are refused
	// altogether at twice these limits.
	RekeyAfterTime    time.Duration
	RekeyAfterPackets uint64
	// HandshakeRetry is the interval between retransmissions of an
	// unanswered handshake; HandshakeTimeout is when a handshake is given
	// up (and when a server forgets a half-open one).
	HandshakeRetry   time.Duration
	HandshakeTimeout time.Duration
}

func (t Timing) withDefaults() Timing {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.Keepalive, DefaultKeepalive)
	def(&t.SessionTimeout, DefaultSessionTimeout)
	def(&t.RekeyAfterTime, DefaultRekeyAfterTime)
	def(&t.HandshakeRetry, DefaultHandshakeRetry)
	def(&t.HandshakeTimeout, DefaultHandshakeTimeout)
	// Each side must hear from the other well within the session timeout,
	// even when all the traffic goes the other way.
	t.Keepalive = min(t.Keepalive, t.SessionTimeout/3)
	if t.RekeyAfterPackets == 0 {
		t.RekeyAfterPackets = DefaultRekeyAfterPackets
	}
	if t.RekeyAfterPackets > rejectAfterMessages/2 {
		t.RekeyAfterPackets = rejectAfterMessages / 2
	}
	return t
}

// rejectAfterTime is how old a key may get before it is refused.
func (t Timing) rejectAfterTime() time.Duration { return 2 * t.RekeyAfterTime }

// rejectAfterPackets is the counter at which a key is refused.
func (t Timing) rejectAfterPackets() uint64 { return 2 * t.RekeyAfterPackets }

// tick is the housekeeping period: a fraction of the shortest timer.
func (t Timing) tick() time.Duration {
	d := min(t.Keepalive, t.SessionTimeout, t.RekeyAfterTime, t.HandshakeRetry) / 4
	return max(min(d, 500*time.Millisecond), 5*time.Millisecond)
}
