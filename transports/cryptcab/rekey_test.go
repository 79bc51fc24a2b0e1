package cryptcab

import (
	"fmt"
	"testing"
	"time"
)

// Keys change after a bounded number of packets and after a bounded time,
// while traffic flows both ways, without losing a frame.
func TestRekeyWithoutLoss(t *testing.T) {
	for _, tc := range []struct {
		name string
		tm   Timing
	}{
		{"packets", Timing{RekeyAfterPackets: 64}},
		{"time", Timing{RekeyAfterTime: 150 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutines(t)
			tm := tc.tm
			tm.Keepalive, tm.HandshakeRetry, tm.HandshakeTimeout = testTiming.Keepalive, testTiming.HandshakeRetry, testTiming.HandshakeTimeout
			psk := newTestPSK(t)
			srv := startServer(t, ServerConfig{PSK: &psk, Timing: tm})
			c := dial(t, ClientConfig{Server: srv.Addr().String(), Auth: psk, Timing: tm})
			s := accept(t, srv)
			up, down := readAll(s), readAll(c)
			deadline := time.Now().Add(time.Second)
			for i := 0; time.Now().Before(deadline) || i < 40; i++ {
				var fu, fd [][]byte
				for j := 0; j < 8; j++ {
					fu = append(fu, frame(200, fmt.Sprintf("up %d.%d", i, j)))
					fd = append(fd, frame(200, fmt.Sprintf("down %d.%d", i, j)))
				}
				send(t, c, fu...)
				send(t, s, fd...)
				up.expect(t, "server", fu...)
				down.expect(t, "client", fd...)
				time.Sleep(10 * time.Millisecond)
			}
			cs, ss := c.Stats(), srv.Stats()
			if cs.Rekeys < 3 || ss.Rekeys < 2 || ss.Handshakes != 1 {
				t.Fatalf("rekeys: client %d, server %d (server handshakes %d)", cs.Rekeys, ss.Rekeys, ss.Handshakes)
			}
			if cs.NoKey != 0 || ss.NoKey != 0 || cs.AuthFailed+ss.AuthFailed+cs.Expired+ss.Expired+cs.UnknownSession+ss.UnknownSession != 0 {
				t.Fatalf("drops during rekeys: client %+v server %+v", cs, ss)
			}
			t.Logf("client rekeyed %d times, %d frames each way", cs.Rekeys, cs.FramesIn)
		})
	}
}

// A client whose server restarted (same address, same key) learns that
// its session is unknown and makes a new one; frames flow again.
func TestClientReconnectsAfterServerRestart(t *testing.T) {
	checkGoroutines(t)
	psk := newTestPSK(t)
	srv := startServer(t, ServerConfig{PSK: &psk})
	addr := srv.Addr().String()
	c := dial(t, ClientConfig{Server: addr, Auth: psk})
	accept(t, srv)
	srv.Close()
	srv2 := startServer(t, ServerConfig{PSK: &psk, Addr: addr})
	// The client's next keepalive (or frame) names a session srv2 does
	// not know; srv2 says so and the client starts over.
	s := accept(t, srv2)
	r := readAll(s)
	f := frame(100, "after the restart")
	send(t, c, f)
	r.expect(t, "new server", f)
	if st := c.Stats(); st.Handshakes != 2 {
		t.Fatalf("client handshakes %d", st.Handshakes)
	}
}
