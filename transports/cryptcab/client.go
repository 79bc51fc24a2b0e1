package cryptcab

import (
	"context"
	"crypto/ecdh"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/govde/govde/transports"
)

// reconnectBackoff is the pause between two failed attempts to make a new
// session after the first one (vde_cryptcab retried logins at least 5 s
// apart).
const reconnectBackoff = 5 * time.Second

// ClientConfig configures Dial.
type ClientConfig struct {
	// Server is the server's UDP address, "HOST:PORT".
	Server string
	// Local is the local UDP address to bind, "[HOST]:PORT" or "PORT";
	// "" means any port.
	Local string
	// Auth obtains the key that authenticates each new session: a PSK or
	// an *SSHAuth.
	Auth Authenticator
	// MaxFrame is the longest frame carried (0: DefaultMaxFrame).
	MaxFrame int
	// Timing sets the protocol timers (zero fields: defaults).
	Timing Timing
	// Logf receives one line per event after Dial returned (new session,
	// failed reconnection; rate-limited). nil discards them.
	Logf func(format string, args ...any)
	// Descr is what Describe returns ("" : "cryptcab://" + Server).
	Descr string
}

// DenyError is returned by Dial when the server refused the handshake.
type DenyError struct {
	Server string
	Reason string
}

func (e *DenyError) Error() string {
	return fmt.Sprintf("cryptcab: server %s refused the session: %s", e.Server, e.Reason)
}

// clientState is the client side of an engine, guarded by engine.mu.
type clientState struct {
	auth        Authenticator
	psk         bool
	serverText  string
	server      rawName
	sess        *Session
	hs          *initiation
	sessionID   uint64
	dialDone    chan error // the first handshake's outcome; nil afterwards
	nextAttempt int64
	fetching    bool
	cancel      context.CancelFunc
	ctx         context.Context
}

// initiation is a handshake the client started and has not seen answered.
type initiation struct {
	kind     byte
	priv     *ecdh.PrivateKey
	msg      [initLen]byte
	key      authKey
	sender   uint32
	started  int64
	lastSent int64
}

// Client is the client end of a cryptcab: a transports.Endpoint whose
// frames travel encrypted to the server. It rekeys by itself and, when
// the server stops answering or forgets the session, makes a new session
// (fetching a new credential); frames written meanwhile are dropped and
// counted. Its methods are safe for concurrent use as Session's are.
type Client struct {
	*Session
}

// Dial makes a session with a server: it binds a UDP socket, obtains a
// credential from cfg.Auth (which may connect over SSH), and performs the
// handshake, retransmitting it until the server answers or
// Timing.HandshakeTimeout (or ctx) expires. A refused handshake returns a
// *DenyError naming the reason (wrong key, unknown ticket, server full).
func Dial(ctx context.Context, cfg ClientConfig) (*Client, error) {
	if cfg.Auth == nil {
		return nil, errors.New("cryptcab: no authentication configured")
	}
	raddr, err := net.ResolveUDPAddr("udp", cfg.Server)
	if err != nil {
		return nil, fmt.Errorf("cryptcab: server address %q: %v", cfg.Server, err)
	}
	network := "udp4"
	if raddr.IP.To4() == nil {
		network = "udp6"
	}
	var laddr *net.UDPAddr
	if cfg.Local != "" {
		if laddr, err = listenAddr(cfg.Local); err != nil {
			return nil, err
		}
	}
	e, err := newEngine(false, network, laddr, cfg.Timing, cfg.MaxFrame, cfg.Logf)
	if err != nil {
		return nil, fmt.Errorf("cryptcab: bind %s: %w", cfg.Local, err)
	}
	_, isPSK := cfg.Auth.(PSK)
	cctx, cancel := context.WithCancel(context.Background())
	dialDone := make(chan error, 1)
	cli := &clientState{auth: cfg.Auth, psk: isPSK, serverText: cfg.Server,
		dialDone: dialDone, cancel: cancel, ctx: cctx}
	cli.server = nameOf(raddr.AddrPort(), e.v6)
	e.cli = cli
	s := newSession(e, 0, &cli.server, e.now())
	s.state = stateDisconnected
	s.descr = cfg.Descr
	if s.descr == "" {
		s.descr = "cryptcab://" + cfg.Server
	}
	cli.sess = s
	c := &Client{Session: s}
	e.start()
	fail := func(err error) (*Client, error) {
		cancel()
		e.stop(transports.ErrClosed)
		return nil, err
	}
	cred, err := cfg.Auth.Credential(ctx)
	if err != nil {
		return fail(err)
	}
	e.mu.Lock()
	err = e.initiate(kindFull, cred.ID, authKey(cred.Key), e.now())
	e.mu.Unlock()
	if err != nil {
		return fail(err)
	}
	select {
	case err = <-dialDone:
	case <-ctx.Done():
		err = fmt.Errorf("cryptcab: handshake with %s: %w", cfg.Server, ctx.Err())
	}
	if err != nil {
		return fail(err)
	}
	return c, nil
}

// Close ends the session and closes the socket. Safe to call more than once.
func (c *Client) Close() error {
	c.e.cli.cancel()
	c.e.stop(transports.ErrClosed)
	c.Session.Close()
	return nil
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	c.e.mu.Lock()
	n := c.e.established
	c.e.mu.Unlock()
	return c.e.st.snapshot(n)
}

// LocalAddr returns the client's UDP address.
func (c *Client) LocalAddr() netip.AddrPort { return c.e.local }

// WriteNeverBlocks implements transports.NonBlocking: false (a write waits
// while the socket buffer is full).
func (c *Client) WriteNeverBlocks() bool { return false }

// initiate starts a handshake and sends its INIT. Called with e.mu held.
func (e *engine) initiate(kind byte, authID uint64, key authKey, now int64) error {
	cli := e.cli
	if cli.hs != nil {
		delete(e.index, cli.hs.sender)
	}
	priv, err := newEphemeral()
	if err != nil {
		return err
	}
	hs := &initiation{kind: kind, priv: priv, key: key, started: now, lastSent: now}
	hs.sender = e.newIndex()
	buildInit(&hs.msg, kind, hs.sender, authID, priv.PublicKey().Bytes(), &hs.key)
	cli.hs = hs
	e.sendControl(hs.msg[:], &cli.server)
	return nil
}

// handleResp completes the client's handshake. Called with e.mu held.
func (e *engine) handleResp(p []byte, from *rawName, now int64) {
	cli := e.cli
	if !from.same(&cli.server) {
		e.st.foreignSource.Add(1)
		return
	}
	hs := cli.hs
	if hs == nil || respReceiver(p) != hs.sender || respKind(p) != hs.kind {
		e.st.unexpected.Add(1) // a late duplicate, or not ours
		return
	}
	if !verifyResp(&hs.key, hs.msg[:], p) {
		e.st.handshakeFailures.Add(1)
		return
	}
	dh, err := x25519(hs.priv, respEphemeral(p))
	if err != nil {
		e.st.handshakeFailures.Add(1)
		return
	}
	keys, err := deriveKeys(&hs.key, dh, hs.msg[:], p)
	if err != nil {
		e.st.handshakeFailures.Add(1)
		return
	}
	s := cli.sess
	kp, err := newKeypair(s, &keys.c2s, &keys.s2c, hs.sender, respSender(p), now, keys.resume)
	if err != nil {
		e.st.handshakeFailures.Add(1)
		return
	}
	cli.hs = nil
	if hs.kind == kindFull {
		e.dropKeysLocked(s)
		s.cur = kp
		cli.sessionID = respSession(p)
		s.id = cli.sessionID
		e.st.handshakes.Add(1)
		if s.state != stateEstablished {
			s.state = stateEstablished
			e.established = 1
		}
		if cli.dialDone == nil {
			e.logf("new session %016x with %s", s.id, cli.serverText)
		}
	} else {
		if s.prev != nil {
			delete(e.index, s.prev.localIndex)
		}
		s.prev, s.cur = s.cur, kp
		e.st.rekeys.Add(1)
	}
	e.index[hs.sender] = kp
	s.resume = keys.resume
	s.lastRecv = now
	s.send.Store(kp)
	e.sendKeepalive(s, kp, now) // confirms the keys to the server
	if cli.dialDone != nil {
		cli.dialDone <- nil
		cli.dialDone = nil
	}
}

// handleDeny handles a server's refusal. A DENY is not authenticated: it
// is believed only when it names the index of our pending handshake or of
// our current key, which an off-path attacker does not know. Called with
// e.mu held.
func (e *engine) handleDeny(p []byte, from *rawName, now int64) {
	cli := e.cli
	if !from.same(&cli.server) {
		e.st.foreignSource.Add(1)
		return
	}
	reason, idx := denyReason(p), denyIndex(p)
	s := cli.sess
	if hs := cli.hs; hs != nil && idx == hs.sender {
		delete(e.index, hs.sender)
		cli.hs = nil
		e.st.handshakeFailures.Add(1)
		switch {
		case cli.dialDone != nil:
			cli.dialDone <- &DenyError{Server: cli.serverText, Reason: denyText(reason, cli.psk)}
			cli.dialDone = nil
		case hs.kind == kindRekey:
			e.logf("server %s forgot session %016x: making a new one", cli.serverText, s.id)
			e.disconnect(now, 0)
		default:
			e.logRate("server %s refused the session: %s", cli.serverText, denyText(reason, cli.psk))
			cli.nextAttempt = now + int64(reconnectBackoff)
		}
		return
	}
	if reason == denyUnknownIndex && s.state == stateEstablished &&
		(idx == s.cur.remoteIndex || (s.prev != nil && idx == s.prev.remoteIndex)) {
		e.logf("server %s does not know session %016x any more: making a new one", cli.serverText, s.id)
		e.disconnect(now, 0)
		return
	}
	e.st.unexpected.Add(1)
}

// disconnect drops the session's keys; a new session is attempted after
// delay. Called with e.mu held.
func (e *engine) disconnect(now int64, delay time.Duration) {
	cli := e.cli
	s := cli.sess
	e.dropKeysLocked(s)
	if s.state == stateEstablished {
		e.established = 0
	}
	s.state = stateDisconnected
	cli.sessionID = 0
	if cli.hs != nil {
		delete(e.index, cli.hs.sender)
		cli.hs = nil
	}
	cli.nextAttempt = now + int64(delay)
	e.wantAttention()
}

// clientHousekeeping retransmits or abandons handshakes, rekeys, sends
// keepalives and reconnects. Called with e.mu held.
func (e *engine) clientHousekeeping(now int64) {
	cli, t := e.cli, e.timing
	s := cli.sess
	if hs := cli.hs; hs != nil {
		if now-hs.started > int64(t.HandshakeTimeout) {
			delete(e.index, hs.sender)
			cli.hs = nil
			e.st.handshakeFailures.Add(1)
			if cli.dialDone != nil {
				cli.dialDone <- fmt.Errorf("cryptcab: no answer from server %s after %v", cli.serverText, t.HandshakeTimeout)
				cli.dialDone = nil
				return
			}
			if hs.kind == kindRekey {
				e.logf("rekey with %s timed out: making a new session", cli.serverText)
				e.disconnect(now, 0)
			} else {
				e.logRate("no answer from server %s: retrying", cli.serverText)
				cli.nextAttempt = now + int64(reconnectBackoff)
			}
		} else if now-hs.lastSent >= int64(t.HandshakeRetry) {
			hs.lastSent = now
			e.sendControl(hs.msg[:], &cli.server)
		}
	}
	if cli.dialDone != nil || s.state == stateClosed {
		return
	}
	if s.state == stateEstablished {
		if now-s.lastRecv > int64(t.SessionTimeout) {
			e.logf("nothing from server %s for %v: making a new session", cli.serverText, t.SessionTimeout)
			e.disconnect(now, 0)
		} else {
			kp := s.cur
			if cli.hs == nil && (now-kp.created >= int64(t.RekeyAfterTime) ||
				kp.sendCtr.Load() >= t.RekeyAfterPackets || kp.replay.highest() >= t.RekeyAfterPackets) {
				if err := e.initiate(kindRekey, cli.sessionID, s.resume, now); err != nil {
					e.logRate("rekey: %v", err)
				}
			}
			if s.prev != nil && now-s.prev.created > e.rejectTime {
				delete(e.index, s.prev.localIndex)
				s.prev = nil
			}
			if now-s.lastSend.Load() >= int64(t.Keepalive) && e.usable(kp, now) {
				e.sendKeepalive(s, kp, now)
			}
			return
		}
	}
	if cli.hs == nil && !cli.fetching && now >= cli.nextAttempt {
		cli.fetching = true
		e.wg.Add(1)
		go e.reconnect()
	}
}

// reconnect obtains a new credential (which may take an SSH login) outside
// the lock, then starts a full handshake.
func (e *engine) reconnect() {
	defer e.wg.Done()
	cli := e.cli
	ctx, cancel := context.WithTimeout(cli.ctx, e.timing.HandshakeTimeout)
	cred, err := cli.auth.Credential(ctx)
	cancel()
	e.mu.Lock()
	defer e.mu.Unlock()
	cli.fetching = false
	if e.closed.Load() {
		return
	}
	now := e.now()
	if err == nil {
		err = e.initiate(kindFull, cred.ID, authKey(cred.Key), now)
	}
	if err != nil {
		e.logRate("new session with %s: %v", cli.serverText, err)
		cli.nextAttempt = now + int64(reconnectBackoff)
	}
}

var (
	_ transports.Endpoint    = (*Client)(nil)
	_ transports.NonBlocking = (*Client)(nil)
	_ io.Closer              = (*Client)(nil)
)
