package cryptcab

import (
	"net"
	"net/netip"
	"sync"
	"testing"
)

// relay is a UDP relay the tests put between one client and the server:
// it records every datagram in both directions (the bytes on the wire),
// can withhold datagrams, and can inject datagrams that the server sees
// coming from the client's path (and the client from the server's).
type relay struct {
	front  *net.UDPConn // the client sends here
	back   *net.UDPConn // connected to the server
	client netip.AddrPort

	mu   sync.Mutex
	up   [][]byte // client → server, as forwarded or held
	down [][]byte // server → client
	// hold, when set, is asked about each client→server datagram; true
	// withholds it (it is recorded in held, not forwarded).
	hold func(p []byte) bool
	held [][]byte
	wg   sync.WaitGroup
}

func newRelay(t testing.TB, server netip.AddrPort) *relay {
	t.Helper()
	front, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	back, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(server))
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{front: front, back: back}
	r.wg.Add(2)
	go func() {
		defer r.wg.Done()
		buf := make([]byte, 70000)
		for {
			n, from, err := front.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			p := append([]byte(nil), buf[:n]...)
			r.mu.Lock()
			r.client = from
			r.up = append(r.up, p)
			held := r.hold != nil && r.hold(p)
			if held {
				r.held = append(r.held, p)
			}
			r.mu.Unlock()
			if !held {
				back.Write(p)
			}
		}
	}()
	go func() {
		defer r.wg.Done()
		buf := make([]byte, 70000)
		for {
			n, err := back.Read(buf)
			if err != nil {
				return
			}
			p := append([]byte(nil), buf[:n]...)
			r.mu.Lock()
			r.down = append(r.down, p)
			to := r.client
			r.mu.Unlock()
			front.WriteToUDPAddrPort(p, to)
		}
	}()
	t.Cleanup(func() {
		front.Close()
		back.Close()
		r.wg.Wait()
	})
	return r
}

// Addr is where the client should send.
func (r *relay) Addr() string { return r.front.LocalAddr().String() }

// toServer injects p on the client's path.
func (r *relay) toServer(p []byte) { r.back.Write(p) }

// toClient injects p on the server's path.
func (r *relay) toClient(p []byte) {
	r.mu.Lock()
	to := r.client
	r.mu.Unlock()
	r.front.WriteToUDPAddrPort(p, to)
}

// wire returns copies of everything seen so far, both directions.
func (r *relay) wire() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append(append([][]byte(nil), r.up...), r.down...)
}

// lastUp returns the last client→server DATA datagram carrying a frame.
func (r *relay) lastUp() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.up) - 1; i >= 0; i-- {
		if p := r.up[i]; p[0] == typeData && len(p) > Overhead {
			return p
		}
	}
	return nil
}

func (r *relay) setHold(f func(p []byte) bool) {
	r.mu.Lock()
	r.hold = f
	r.mu.Unlock()
}

func (r *relay) takeHeld() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.held
	r.held = nil
	return h
}
