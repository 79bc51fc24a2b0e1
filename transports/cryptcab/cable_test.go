package cryptcab

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
)

// A client and a server with a pre-shared key carry frames both ways,
// byte for byte, from the smallest to the largest.
func TestPSKFramesBothWays(t *testing.T) {
	checkGoroutines(t)
	psk := newTestPSK(t)
	srv := startServer(t, ServerConfig{PSK: &psk})
	c := dial(t, ClientConfig{Server: srv.Addr().String(), Auth: psk})
	s := accept(t, srv)
	fromServer, fromClient := readAll(c), readAll(s)

	var up, down [][]byte
	for _, n := range []int{14, 60, 64, 1514, 1518, 4000, DefaultMaxFrame} {
		up = append(up, frame(n, "up"))
		down = append(down, frame(n, "down"))
	}
	send(t, c, up...)
	send(t, s, down...)
	fromClient.expect(t, "server side", up...)
	fromServer.expect(t, "client side", down...)

	st := srv.Stats()
	if st.Sessions != 1 || st.Handshakes != 1 || st.FramesIn != uint64(len(up)) || st.Dropped() != 0 {
		t.Fatalf("server stats %+v", st)
	}
	if s.User() != "" || s.RemoteAddr().Port() != c.LocalAddr().Port() {
		t.Fatalf("session user %q addr %v, client %v", s.User(), s.RemoteAddr(), c.LocalAddr())
	}
	c.Close()
	if err := <-fromServer.done; !errors.Is(err, transports.ErrClosed) {
		t.Fatalf("client ReadBatch after Close: %v", err)
	}
	srv.Close()
	if err := <-fromClient.done; !errors.Is(err, transports.ErrClosed) {
		t.Fatalf("session ReadBatch after server Close: %v", err)
	}
}

// A frame longer than MaxFrame is not sent; frames shorter than 14 bytes
// that authenticate are dropped as runts; an empty batch is fine.
func TestFrameLimits(t *testing.T) {
	psk := newTestPSK(t)
	srv := startServer(t, ServerConfig{PSK: &psk, MaxFrame: 1518})
	c := dial(t, ClientConfig{Server: srv.Addr().String(), Auth: psk, MaxFrame: 1518})
	s := accept(t, srv)
	r := readAll(s)
	ok := frame(1518, "ok")
	send(t, c, frame(1519, "too long"), []byte("short"), ok)
	r.expect(t, "server", ok)
	r.quiet(t, "server", 100*time.Millisecond)
	send(t, c)
	st, cst := srv.Stats(), c.Stats()
	if cst.Oversize != 1 || st.Runts != 1 {
		t.Fatalf("client oversize %d, server runts %d", cst.Oversize, st.Runts)
	}
}

// Keepalives keep an idle session alive past the session timeout; a
// client that stops answering is expired by the server, whose session
// reader then sees io.EOF.
func TestKeepaliveAndExpiry(t *testing.T) {
	checkGoroutines(t)
	psk := newTestPSK(t)
	tm := Timing{Keepalive: 50 * time.Millisecond, SessionTimeout: 400 * time.Millisecond,
		HandshakeRetry: 50 * time.Millisecond, HandshakeTimeout: time.Second}
	srv := startServer(t, ServerConfig{PSK: &psk, Timing: tm})
	c := dial(t, ClientConfig{Server: srv.Addr().String(), Auth: psk, Timing: tm})
	s := accept(t, srv)
	r := readAll(s)
	time.Sleep(1200 * time.Millisecond) // three session timeouts, idle
	if st := srv.Stats(); st.Sessions != 1 || st.KeepalivesIn < 5 || st.KeepalivesOut < 5 {
		t.Fatalf("idle session not kept alive: %+v", st)
	}
	f := frame(100, "still there")
	send(t, c, f)
	r.expect(t, "server", f)

	// Silence the client without telling the server (its socket goes).
	c.e.conn.Close()
	select {
	case err := <-r.done:
		if !errors.Is(err, io.EOF) {
			t.Fatalf("expired session: %v, want EOF", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("session not expired")
	}
	if st := srv.Stats(); st.Sessions != 0 {
		t.Fatalf("sessions after expiry: %d", st.Sessions)
	}
	var b frames.Batch
	if err := s.WriteBatch(&b); !errors.Is(err, io.EOF) {
		t.Fatalf("write to expired session: %v", err)
	}
}

// IPv6 works the same (skipped when ::1 is not configured).
func TestIPv6(t *testing.T) {
	psk := newTestPSK(t)
	srv, err := Listen(ServerConfig{Addr: "[::1]:0", PSK: &psk, Timing: testTiming})
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer srv.Close()
	c := dial(t, ClientConfig{Server: srv.Addr().String(), Auth: psk})
	s := accept(t, srv)
	if !s.RemoteAddr().Addr().Is6() || !c.LocalAddr().Addr().Is6() {
		t.Fatalf("addresses %v %v", s.RemoteAddr(), c.LocalAddr())
	}
	up, down := readAll(s), readAll(c)
	fu, fd := frame(1514, "v6 up"), frame(1514, "v6 down")
	send(t, c, fu)
	send(t, s, fd)
	up.expect(t, "server", fu)
	down.expect(t, "client", fd)
}
