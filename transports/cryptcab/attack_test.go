package cryptcab

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
)

// waitStat waits until f(stats) reaches want.
func waitStat(t *testing.T, srv *Server, what string, f func(Stats) uint64, want uint64) {
	t.Helper()
	eventually(t, 3*time.Second, fmt.Sprintf("%s = %d (stats %+v)", what, want, srv.Stats()), func() bool { return f(srv.Stats()) == want })
}

// Tampered, truncated, replayed, reordered-beyond-window, foreign-key and
// malformed datagrams reach the server on the client's own path: every one
// is dropped and counted under its reason, none is delivered, the session
// goes on.
func TestHostileDatagramsDroppedAndCounted(t *testing.T) {
	checkGoroutines(t)
	psk := newTestPSK(t)
	srv := startServer(t, ServerConfig{PSK: &psk})
	rl := newRelay(t, srv.Addr())
	c := dial(t, ClientConfig{Server: rl.Addr(), Auth: psk})
	s := accept(t, srv)
	r := readAll(s)

	f1 := frame(200, "legit 1")
	send(t, c, f1)
	r.expect(t, "legit frame", f1)
	d := rl.lastUp()
	if d == nil {
		t.Fatal("no DATA datagram seen")
	}

	// Replayed as is.
	rl.toServer(d)
	waitStat(t, srv, "Replayed", func(s Stats) uint64 { return s.Replayed }, 1)

	// Tampered in flight: the relay withholds the next datagram; the
	// server gets altered copies first (a bit of the ciphertext, of the
	// tag, of the counter, which is authenticated data; a truncated copy),
	// then the original, which alone is delivered.
	hold := func(p []byte) bool { return p[0] == typeData && len(p) > Overhead }
	rl.setHold(hold)
	f2 := frame(200, "legit 2")
	send(t, c, f2)
	eventually(t, 3*time.Second, "held datagram", func() bool { rl.mu.Lock(); defer rl.mu.Unlock(); return len(rl.held) == 1 })
	rl.setHold(nil)
	h := rl.takeHeld()[0]
	for i, pos := range []int{dataHeaderLen + 20, len(h) - 1, 8} {
		x := bytes.Clone(h)
		x[pos] ^= 0x01
		rl.toServer(x)
		waitStat(t, srv, fmt.Sprintf("AuthFailed after tamper %d", i), func(s Stats) uint64 { return s.AuthFailed }, uint64(i+1))
	}
	rl.toServer(h[:len(h)-1])
	waitStat(t, srv, "AuthFailed after truncation", func(s Stats) uint64 { return s.AuthFailed }, 4)
	r.quiet(t, "tampered copies", 50*time.Millisecond)
	rl.toServer(h)
	r.expect(t, "the original after its tampered copies", f2)

	// Truncated below a DATA header and tag, or empty: malformed.
	for i, n := range []int{Overhead - 1, 3, 0} {
		rl.toServer(d[:n])
		waitStat(t, srv, "Malformed after truncation", func(s Stats) uint64 { return s.Malformed }, uint64(i+1))
	}

	// Foreign key: a well-formed datagram for the session's index and a
	// fresh counter, sealed with a key that is not the session's.
	var key [32]byte
	rand.Read(key[:])
	aead, _ := chacha20poly1305.New(key[:])
	fx := make([]byte, dataHeaderLen, 300)
	putDataHeader(fx, dataIndex(d), dataCounter(d)+1000)
	var nonce [12]byte
	putNonce(&nonce, dataCounter(d)+1000)
	fx = aead.Seal(fx, nonce[:], frame(100, "foreign"), fx[:dataHeaderLen])
	rl.toServer(fx)
	waitStat(t, srv, "AuthFailed after foreign key", func(s Stats) uint64 { return s.AuthFailed }, 5)

	// An index no session has.
	ux := bytes.Clone(fx)
	ux[4] ^= 0xff
	rl.toServer(ux)
	waitStat(t, srv, "UnknownSession", func(s Stats) uint64 { return s.UnknownSession }, 1)

	// Garbage and a forged handshake with a wrong MAC, and a RESP (which
	// only a client expects).
	rl.toServer([]byte("this is not a cryptcab packet at all"))
	waitStat(t, srv, "Malformed after garbage", func(s Stats) uint64 { return s.Malformed }, 4)
	var init [initLen]byte
	var wrong authKey
	rand.Read(wrong[:])
	buildInit(&init, kindFull, 7, 0, make([]byte, 32), &wrong)
	rl.toServer(init[:])
	waitStat(t, srv, "HandshakeFailures after forged INIT", func(s Stats) uint64 { return s.HandshakeFailures }, 1)
	var resp [respLen]byte
	buildResp(&resp, init[:], 1, 1, make([]byte, 32), &wrong)
	rl.toServer(resp[:])
	waitStat(t, srv, "Unexpected after RESP", func(s Stats) uint64 { return s.Unexpected }, 1)

	// Reordered within the window: withheld, then injected late: accepted.
	rl.setHold(func(p []byte) bool { return p[0] == typeData && len(p) > Overhead })
	late := frame(120, "late but in window")
	send(t, c, late)
	eventually(t, 3*time.Second, "held datagram", func() bool { rl.mu.Lock(); defer rl.mu.Unlock(); return len(rl.held) == 1 })
	rl.setHold(nil)
	next := frame(120, "next")
	send(t, c, next)
	r.expect(t, "frame after the withheld one", next)
	for _, p := range rl.takeHeld() {
		rl.toServer(p)
	}
	r.expect(t, "late frame within the window", late)

	// Reordered beyond the window: withheld while more than Window newer
	// datagrams get through, then injected: too old.
	rl.setHold(func(p []byte) bool { return p[0] == typeData && len(p) > Overhead })
	old := frame(120, "too late")
	send(t, c, old)
	eventually(t, 3*time.Second, "held datagram", func() bool { rl.mu.Lock(); defer rl.mu.Unlock(); return len(rl.held) == 1 })
	rl.setHold(nil)
	var burst [][]byte
	for i := 0; i < Window+64; i++ {
		burst = append(burst, frame(60, fmt.Sprintf("burst %d", i)))
	}
	for i := 0; i < len(burst); i += 32 {
		send(t, c, burst[i:min(i+32, len(burst))]...)
		r.expect(t, "burst", burst[i:min(i+32, len(burst))]...)
	}
	for _, p := range rl.takeHeld() {
		rl.toServer(p)
	}
	waitStat(t, srv, "TooOld", func(s Stats) uint64 { return s.TooOld }, 1)

	// Nothing of the above was delivered, the session still works both ways.
	r.quiet(t, "after the attacks", 200*time.Millisecond)
	fromServer := readAll(c)
	f4, f3 := frame(300, "legit 4"), frame(300, "legit 3")
	send(t, c, f4)
	r.expect(t, "legit frame after attacks", f4)
	send(t, s, f3)
	fromServer.expect(t, "client", f3)
	st := srv.Stats()
	if st.Sessions != 1 || st.Replayed != 1 || st.AuthFailed != 5 || st.Malformed != 4 || st.TooOld != 1 || st.UnknownSession != 1 {
		t.Fatalf("server stats %+v", st)
	}
	if want := uint64(len(burst) + 5); st.FramesIn != want {
		t.Fatalf("server delivered %d frames, want %d", st.FramesIn, want)
	}
}

// The client checks what comes from the server's path just as strictly:
// replays, tampering and datagrams from other addresses are dropped.
func TestClientDropsHostileDatagrams(t *testing.T) {
	psk := newTestPSK(t)
	srv := startServer(t, ServerConfig{PSK: &psk})
	rl := newRelay(t, srv.Addr())
	c := dial(t, ClientConfig{Server: rl.Addr(), Auth: psk})
	s := accept(t, srv)
	r := readAll(c)
	f := frame(500, "down")
	send(t, s, f)
	r.expect(t, "client", f)
	var d []byte
	for _, p := range rl.wire() {
		if p[0] == typeData && len(p) == len(f)+Overhead {
			d = p
		}
	}
	if d == nil {
		t.Fatal("no server DATA datagram seen")
	}
	rl.toClient(d)
	x := bytes.Clone(d)
	x[8] ^= 0x80 // a counter never used: authentication fails
	rl.toClient(x)
	rl.toClient(d[:20])
	// A datagram from an address that is not the server.
	other := newRelay(t, c.LocalAddr())
	other.toServer(d)
	eventually(t, 3*time.Second, "client drop counters", func() bool {
		st := c.Stats()
		return st.Replayed == 1 && st.AuthFailed == 1 && st.Malformed == 1 && st.ForeignSource == 1
	})
	r.quiet(t, "client after attacks", 200*time.Millisecond)
	if st := c.Stats(); st.FramesIn != 1 {
		t.Fatalf("client delivered %d frames", st.FramesIn)
	}
}

// A client with the wrong pre-shared key gets a clear error and the server
// has no session; a client of the wrong kind is told what the server wants.
func TestWrongKeyRefused(t *testing.T) {
	checkGoroutines(t)
	psk, other := newTestPSK(t), newTestPSK(t)
	var log logBuf
	srv := startServer(t, ServerConfig{PSK: &psk, Logf: log.logf})
	_, err := dialErr(ClientConfig{Server: srv.Addr().String(), Auth: other})
	var de *DenyError
	if !errors.As(err, &de) || de.Reason != "authentication failed (wrong pre-shared key?)" {
		t.Fatalf("wrong key: %v", err)
	}
	t.Log(err)
	if !strings.Contains(log.String(), "refused: authentication failed (wrong pre-shared key?)") {
		t.Fatalf("server log: %q", log.String())
	}
	_, err = dialErr(ClientConfig{Server: srv.Addr().String(), Auth: fixedCred{Credential{ID: 42}}})
	if !errors.As(err, &de) || de.Reason != denyText(denyNotAccepted, false) {
		t.Fatalf("ticket to a PSK server: %v", err)
	}
	st := srv.Stats()
	if st.Sessions != 0 || st.Handshakes != 0 || st.HandshakeFailures != 2 {
		t.Fatalf("server stats after refusals: %+v", st)
	}
	sshSrv := startServer(t, ServerConfig{TicketSocket: t.TempDir() + "/t.sock"})
	_, err = dialErr(ClientConfig{Server: sshSrv.Addr().String(), Auth: psk})
	if !errors.As(err, &de) || de.Reason != denyText(denyNotAccepted, true) {
		t.Fatalf("PSK to an SSH server: %v", err)
	}
	// Nobody there: a timeout, not a hang.
	quiet := newRelay(t, srv.Addr())
	quiet.setHold(func([]byte) bool { return true })
	tm := testTiming
	tm.HandshakeTimeout = 300 * time.Millisecond
	_, err = dialErr(ClientConfig{Server: quiet.Addr(), Auth: psk, Timing: tm})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("no answer from server")) {
		t.Fatalf("silent server: %v", err)
	}
}

// fixedCred is an Authenticator returning one credential.
type fixedCred struct{ c Credential }

func (f fixedCred) Credential(context.Context) (Credential, error) {
	return f.c, nil
}
