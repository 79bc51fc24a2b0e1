package cryptcab

import (
	"errors"
	"fmt"
	"net"
	"testing"
	"time"
)

// Ten clients on one server: each has its own session and keys; frames go
// only between a client and its own session; one client sealing a datagram
// for another's session (its own key, the other's index) is dropped; one
// session ending leaves the others working.
func TestTenClientsIsolated(t *testing.T) {
	checkGoroutines(t)
	const n = 10
	psk := newTestPSK(t)
	srv := startServer(t, ServerConfig{PSK: &psk})
	var clients [n]*Client
	var sessions [n]*Session
	for i := range clients {
		clients[i] = dial(t, ClientConfig{Server: srv.Addr().String(), Auth: psk})
	}
	byPort := map[uint16]*Session{}
	for range clients {
		s := accept(t, srv)
		byPort[s.RemoteAddr().Port()] = s
	}
	ids := map[uint64]bool{}
	for i, c := range clients {
		sessions[i] = byPort[c.LocalAddr().Port()]
		if sessions[i] == nil {
			t.Fatalf("no session for client %d", i)
		}
		ids[sessions[i].ID()] = true
	}
	if len(ids) != n || srv.Stats().Sessions != n {
		t.Fatalf("%d distinct sessions, %d established", len(ids), srv.Stats().Sessions)
	}
	var atServer, atClient [n]*reader
	for i := range clients {
		atServer[i], atClient[i] = readAll(sessions[i]), readAll(clients[i])
	}
	var up, down [n][][]byte
	for i := range clients {
		for j := 0; j < 20; j++ {
			up[i] = append(up[i], frame(100+j, fmt.Sprintf("client %d frame %d", i, j)))
			down[i] = append(down[i], frame(100+j, fmt.Sprintf("session %d frame %d", i, j)))
		}
		send(t, clients[i], up[i]...)
		send(t, sessions[i], down[i]...)
	}
	for i := range clients {
		atServer[i].expect(t, fmt.Sprintf("session %d", i), up[i]...)
		atClient[i].expect(t, fmt.Sprintf("client %d", i), down[i]...)
	}

	// Client 0 seals with its own current key for client 1's session.
	before := srv.Stats()
	kp0 := clients[0].send.Load()
	srv.e.mu.Lock()
	victim := sessions[1].cur.localIndex
	srv.e.mu.Unlock()
	p := make([]byte, dataHeaderLen, 200)
	ctr := kp0.sendCtr.Add(1) - 1
	putDataHeader(p, victim, ctr)
	var nonce [12]byte
	putNonce(&nonce, ctr)
	p = kp0.send.Seal(p, nonce[:], frame(100, "injected"), p[:dataHeaderLen])
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(srv.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write(p)
	eventually(t, 3*time.Second, "AuthFailed", func() bool { return srv.Stats().AuthFailed == before.AuthFailed+1 })

	// Session 5 ends on the server: the others go on, and client 5, told
	// its session is unknown, makes a new one by itself.
	sessions[5].Close()
	for i := range clients {
		atServer[i].quiet(t, fmt.Sprintf("session %d after the injection", i), 20*time.Millisecond)
		if i == 5 {
			continue
		}
		f := frame(80, fmt.Sprintf("again %d", i))
		send(t, clients[i], f)
		atServer[i].expect(t, fmt.Sprintf("session %d after session 5 ended", i), f)
	}
	s5 := accept(t, srv)
	if s5.RemoteAddr().Port() != clients[5].LocalAddr().Port() || s5.ID() == sessions[5].ID() {
		t.Fatalf("new session %016x from %v", s5.ID(), s5.RemoteAddr())
	}
	r5 := readAll(s5)
	f := frame(80, "client 5 is back")
	eventually(t, 3*time.Second, "client 5 established again", func() bool { return clients[5].Stats().Sessions == 1 })
	send(t, clients[5], f)
	r5.expect(t, "client 5's new session", f)
	if st := srv.Stats(); st.Sessions != n || st.Handshakes != n+1 {
		t.Fatalf("server stats %+v", st)
	}
}

// A server with no room left refuses the next client with the reason.
func TestServerFull(t *testing.T) {
	psk := newTestPSK(t)
	srv := startServer(t, ServerConfig{PSK: &psk, MaxSessions: 1})
	dial(t, ClientConfig{Server: srv.Addr().String(), Auth: psk})
	accept(t, srv)
	_, err := dialErr(ClientConfig{Server: srv.Addr().String(), Auth: psk})
	var de *DenyError
	if !errors.As(err, &de) || de.Reason != denyText(denyFull, true) {
		t.Fatalf("second client: %v", err)
	}
}
