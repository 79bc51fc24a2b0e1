package cryptcab

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"

	"github.com/govde/govde/transports"
)

// DefaultPort is vde_cryptcab's UDP port.
const DefaultPort = 7667

// DefaultMaxSessions is how many clients a server serves at once unless
// configured.
const DefaultMaxSessions = 256

// maxPending bounds the handshakes a server has answered and waits to see
// confirmed; more initiations are ignored until some complete or expire.
const maxPending = 256

// ServerConfig configures Listen.
type ServerConfig struct {
	// Addr is the UDP address to listen on, "[HOST]:PORT" or "PORT"; ""
	// means every address, port DefaultPort.
	Addr string
	// PSK, when set, authenticates clients by this pre-shared key (vde_cryptcab
	// -P); the SSH ticket socket is then not opened. When nil, clients
	// authenticate over SSH: they fetch one-time tickets from TicketSocket
	// through an SSH connection to this host.
	PSK *PSK
	// TicketSocket is the unix socket handing out tickets (SSH mode); ""
	// means DefaultTicketSocket(port). It is created mode 0666: any user
	// who can log in over SSH may open a session, as any user who could
	// scp a key could with the original.
	TicketSocket string
	// MaxSessions bounds the established sessions (0: DefaultMaxSessions).
	MaxSessions int
	// MaxFrame is the longest frame carried (0: DefaultMaxFrame).
	MaxFrame int
	// Timing sets the protocol timers (zero fields: defaults).
	Timing Timing
	// Logf receives one line per event (session made, ended, refused;
	// rate-limited for floods). nil discards them.
	Logf func(format string, args ...any)
}

// serverState is the server side of an engine, guarded by engine.mu.
type serverState struct {
	psk         *authKey
	tickets     map[uint64]*ticket // nil: ssh tickets not accepted
	pending     map[[32]byte]*pendingInit
	accept      chan *Session
	maxSessions int
	ticketSrv   *ticketServer
}

// pendingInit is an answered initiation, kept so that a retransmitted INIT
// gets the same RESP and so that the new key can be confirmed.
type pendingInit struct {
	init    [initLen]byte
	resp    [respLen]byte
	kp      *keypair
	created int64
}

// Server is a cryptcab server: one UDP socket, many client sessions,
// each with its own keys. Its methods are safe for concurrent use.
type Server struct {
	e *engine
}

// Listen starts a server. The caller must Close it.
func Listen(cfg ServerConfig) (*Server, error) {
	addr, err := listenAddr(cfg.Addr)
	if err != nil {
		return nil, err
	}
	e, err := newEngine(true, "udp", addr, cfg.Timing, cfg.MaxFrame, cfg.Logf)
	if err != nil {
		return nil, fmt.Errorf("cryptcab: listen %s: %w", cfg.Addr, err)
	}
	srv := &serverState{
		pending:     map[[32]byte]*pendingInit{},
		accept:      make(chan *Session, 64),
		maxSessions: cfg.MaxSessions,
	}
	if srv.maxSessions <= 0 {
		srv.maxSessions = DefaultMaxSessions
	}
	e.srv = srv
	if cfg.PSK != nil {
		k := cfg.PSK.key
		srv.psk = &k
	} else {
		srv.tickets = map[uint64]*ticket{}
		path := cfg.TicketSocket
		if path == "" {
			path = DefaultTicketSocket(int(e.local.Port()))
		}
		ts, err := listenTickets(e, path)
		if err != nil {
			e.conn.Close()
			return nil, err
		}
		srv.ticketSrv = ts
	}
	e.start()
	return &Server{e: e}, nil
}

// listenAddr parses "[HOST]:PORT", "PORT" or "".
func listenAddr(s string) (*net.UDPAddr, error) {
	if s == "" {
		return &net.UDPAddr{Port: DefaultPort}, nil
	}
	if p, err := strconv.Atoi(s); err == nil {
		if p < 0 || p > 65535 {
			return nil, fmt.Errorf("cryptcab: bad port %q", s)
		}
		return &net.UDPAddr{Port: p}, nil
	}
	a, err := net.ResolveUDPAddr("udp", s)
	if err != nil {
		return nil, fmt.Errorf("cryptcab: bad listen address %q: %v", s, err)
	}
	return a, nil
}

// Accept waits for the next established session. The caller owns it and
// must Close it (or Close the server). It returns transports.ErrClosed
// after Close.
func (s *Server) Accept() (*Session, error) {
	select {
	case sess := <-s.e.srv.accept:
		return sess, nil
	case <-s.e.done:
		return nil, transports.ErrClosed
	}
}

// Addr returns the UDP address the server listens on.
func (s *Server) Addr() netip.AddrPort { return s.e.local }

// TicketSocket returns the path of the ticket socket ("" with a PSK).
func (s *Server) TicketSocket() string {
	if ts := s.e.srv.ticketSrv; ts != nil {
		return ts.path
	}
	return ""
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	s.e.mu.Lock()
	n := s.e.established
	s.e.mu.Unlock()
	return s.e.st.snapshot(n)
}

// Close stops the server: every session ends (their readers see
// transports.ErrClosed), the socket and the ticket socket are closed.
func (s *Server) Close() error {
	s.e.stop(transports.ErrClosed)
	for {
		select {
		case sess := <-s.e.srv.accept:
			sess.Close()
		default:
			return nil
		}
	}
}

// handleInit answers a handshake initiation. Called with e.mu held.
func (e *engine) handleInit(p []byte, from *rawName, now int64) {
	srv := e.srv
	eph := initEphemeral(p)
	if pi := srv.pending[eph]; pi != nil {
		if bytes.Equal(pi.init[:], p) && pi.kp.sess.state != stateClosed {
			e.sendControl(pi.resp[:], from) // our RESP was lost
			return
		}
		e.st.handshakeFailures.Add(1)
		return
	}
	kind, id, sender := initKind(p), initAuthID(p), initSender(p)
	var key *authKey
	var tk *ticket
	var sess *Session
	switch {
	case kind == kindRekey:
		if sess = e.sessions[id]; sess == nil || sess.state != stateEstablished {
			e.refuse(denyUnknownAuth, sender, from, now)
			return
		}
		key = &sess.resume
	case id == 0:
		if srv.psk == nil {
			e.refuse(denyNotAccepted, sender, from, now)
			return
		}
		key = srv.psk
	default:
		if srv.tickets == nil {
			e.refuse(denyNotAccepted, sender, from, now)
			return
		}
		if tk = srv.tickets[id]; tk == nil {
			e.refuse(denyUnknownAuth, sender, from, now)
			return
		}
		key = &tk.key
	}
	if !verifyInit(key, p) {
		e.refuse(denyAuth, sender, from, now)
		return
	}
	if kind == kindFull && len(e.sessions) >= srv.maxSessions {
		e.refuse(denyFull, sender, from, now)
		return
	}
	if len(srv.pending) >= maxPending {
		e.st.handshakeFailures.Add(1)
		return
	}
	priv, err := newEphemeral()
	if err != nil {
		e.st.handshakeFailures.Add(1)
		return
	}
	dh, err := x25519(priv, eph[:])
	if err != nil {
		e.st.handshakeFailures.Add(1)
		return
	}
	local := e.newIndex()
	if sess == nil {
		var sid uint64
		for sid = randUint64(); e.sessions[sid] != nil; sid = randUint64() {
		}
		sess = newSession(e, sid, from, now)
		sess.state = statePending
		if tk != nil {
			sess.user = tk.user
		}
		how := "pre-shared key"
		if tk != nil {
			how = "ssh user " + tk.user
		}
		sess.descr = fmt.Sprintf("cryptcab: %v (%s)", sess.remote, how)
		e.sessions[sid] = sess
	}
	pi := &pendingInit{created: now}
	copy(pi.init[:], p)
	buildResp(&pi.resp, p, local, sess.id, priv.PublicKey().Bytes(), key)
	keys, err := deriveKeys(key, dh, p, pi.resp[:])
	if err != nil {
		delete(e.index, local)
		e.st.handshakeFailures.Add(1)
		return
	}
	kp, err := newKeypair(sess, &keys.s2c, &keys.c2s, local, sender, now, keys.resume)
	if err != nil {
		delete(e.index, local)
		e.st.handshakeFailures.Add(1)
		return
	}
	if sess.next != nil {
		delete(e.index, sess.next.localIndex)
	}
	sess.next = kp
	e.index[local] = kp
	pi.kp = kp
	srv.pending[eph] = pi
	if tk != nil {
		delete(srv.tickets, id) // a ticket opens one session
	}
	e.sendControl(pi.resp[:], from)
}

// refuse counts a refused initiation, logs it (rate-limited) and answers
// with a DENY.
func (e *engine) refuse(reason byte, sender uint32, from *rawName, now int64) {
	e.st.handshakeFailures.Add(1)
	e.logRate("handshake from %v refused: %s", from.addrPort(), denyText(reason, e.srv.psk != nil))
	e.deny(reason, sender, from, now)
}

// confirm makes kp, the key of an answered handshake, the session's
// current key: the client has used it, so it has the same keys. Called
// with e.mu held.
func (e *engine) confirm(s *Session, kp *keypair, from *rawName, now int64) {
	s.next = nil
	if s.state == statePending {
		s.cur = kp
		s.resume = kp.resume
		s.state = stateEstablished
		s.peerName = *from
		p := *from
		s.peer.Store(&p)
		s.send.Store(kp)
		e.established++
		e.st.handshakes.Add(1)
		// A client that restarted from the same address replaces its old
		// session at once instead of leaving a dead port until expiry.
		for _, o := range e.sessions {
			if o != s && o.state == stateEstablished && o.peerName.same(from) {
				e.logf("session %016x from %v replaced by a new session", o.id, o.remote)
				e.closeSessionLocked(o, io.EOF)
			}
		}
		select {
		case e.srv.accept <- s:
			e.logf("session %016x established with %s", s.id, s.descr[len("cryptcab: "):])
		default:
			e.logRate("session from %v dropped: nobody accepts sessions", s.remote)
			e.closeSessionLocked(s, errors.New("cryptcab: accept queue full"))
		}
		return
	}
	if s.prev != nil {
		delete(e.index, s.prev.localIndex)
	}
	s.prev, s.cur = s.cur, kp
	s.resume = kp.resume
	s.send.Store(kp)
	e.st.rekeys.Add(1)
}

// serverHousekeeping expires silent sessions, stale keys, half-open
// handshakes and tickets, and sends keepalives. Called with e.mu held.
func (e *engine) serverHousekeeping(now int64) {
	t := e.timing
	for _, s := range e.sessions {
		switch s.state {
		case statePending:
			if now-s.created > int64(t.HandshakeTimeout) {
				e.closeSessionLocked(s, os.ErrDeadlineExceeded)
			}
		case stateEstablished:
			if now-s.lastRecv > int64(t.SessionTimeout) {
				e.logf("session %016x with %v expired (nothing received for %v)", s.id, s.remote, t.SessionTimeout)
				e.closeSessionLocked(s, io.EOF)
				continue
			}
			if s.next != nil && now-s.next.created > int64(t.HandshakeTimeout) {
				delete(e.index, s.next.localIndex)
				s.next = nil
			}
			if s.prev != nil && now-s.prev.created > e.rejectTime {
				delete(e.index, s.prev.localIndex)
				s.prev = nil
			}
			if now-s.lastSend.Load() >= int64(t.Keepalive) && e.usable(s.cur, now) {
				e.sendKeepalive(s, s.cur, now)
			}
		}
	}
	for k, pi := range e.srv.pending {
		if now-pi.created > int64(t.HandshakeTimeout) {
			delete(e.srv.pending, k)
		}
	}
	for id, tk := range e.srv.tickets {
		if now-tk.created > int64(ticketTTL) {
			delete(e.srv.tickets, id)
		}
	}
}

// stopTickets closes the ticket socket, if any.
func (srv *serverState) stopTickets() {
	if srv.ticketSrv != nil {
		srv.ticketSrv.close()
	}
}
