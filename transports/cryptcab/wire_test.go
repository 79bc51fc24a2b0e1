package cryptcab

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// Everything on the wire between a client and a server (recorded by a relay
// on loopback): no datagram holds a plaintext frame, nor any 16-byte run of
// a frame's payload, nor the pre-shared key; the handshake goes first.
func TestWireCarriesNoPlaintext(t *testing.T) {
	secret := bytes.Repeat([]byte("0123456789abcdef"), 2)
	psk, err := NewPSK(secret)
	if err != nil {
		t.Fatal(err)
	}
	tm := testTiming
	tm.RekeyAfterPackets = 40 // the wire carries several handshakes
	srv := startServer(t, ServerConfig{PSK: &psk, Timing: tm})
	rl := newRelay(t, srv.Addr())
	c := dial(t, ClientConfig{Server: rl.Addr(), Auth: psk, Timing: tm})
	s := accept(t, srv)
	up, down := readAll(s), readAll(c)
	var sent [][]byte
	for i := 0; i < 200; i++ {
		size := []int{14, 15, 60, 100, 1514, 9000}[i%6]
		fu, fd := frame(size, fmt.Sprintf("u%d", i)), frame(size, fmt.Sprintf("d%d", i))
		send(t, c, fu)
		send(t, s, fd)
		up.expect(t, "server", fu)
		down.expect(t, "client", fd)
		sent = append(sent, fu, fd)
	}
	time.Sleep(50 * time.Millisecond)
	wire := rl.wire()
	if len(wire) < 400 {
		t.Fatalf("only %d datagrams recorded", len(wire))
	}
	if wire[0][0] != typeInit {
		t.Fatalf("first datagram is type %d, not a handshake", wire[0][0])
	}
	if st := c.Stats(); st.Rekeys < 3 {
		t.Fatalf("%d rekeys during the run", st.Rekeys)
	}
	// Every 16-byte run of every datagram, at every offset.
	runs := map[[16]byte]bool{}
	types := map[byte]int{}
	for _, p := range wire {
		types[p[0]]++
		if bytes.Contains(p, secret[:16]) {
			t.Fatalf("datagram holds the pre-shared key: % x", head(p))
		}
		for off := 0; off+16 <= len(p); off++ {
			runs[[16]byte(p[off:])] = true
		}
	}
	for _, f := range sent {
		if len(f) < 30 {
			for _, p := range wire {
				if bytes.Contains(p, f) {
					t.Fatalf("datagram holds a plaintext frame of %d bytes", len(f))
				}
			}
			continue
		}
		// Frames of 30 bytes or more: no run of their payload is there
		// (so no whole frame either).
		for off := 14; off+16 <= len(f); off += 8 {
			if runs[[16]byte(f[off:])] {
				t.Fatalf("datagram holds 16 bytes of a frame's payload (frame %d bytes, offset %d)", len(f), off)
			}
		}
	}
	t.Logf("%d datagrams checked: %d INIT, %d RESP, %d DATA", len(wire), types[typeInit], types[typeResp], types[typeData])
}
