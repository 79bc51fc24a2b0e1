package slirp

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
)

// waitFlows waits until e has n flows, failing after 5 s.
func waitFlows(t *testing.T, e *Endpoint, n int) {
	t.Helper()
	end := time.Now().Add(5 * time.Second)
	for e.Flows() != n {
		if time.Now().After(end) {
			t.Fatalf("Flows() = %d, want %d", e.Flows(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestUDPFlowIdleTimeout(t *testing.T) {
	port := udpServer(t, func(b []byte) []byte { return b })
	e := newSlirp(t, Config{DNSUpstream: "127.0.0.1:1", UDPIdle: 200 * time.Millisecond})
	g := newGuest(t, e, guestIP, gw)
	ra := addr4(gw, port)
	c, err := gonet.DialUDP(g.st, nil, &ra, ipv4.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b := make([]byte, 10)
	ok := false
	for i := 0; i < 20 && !ok; i++ {
		c.Write([]byte("x"))
		c.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
		_, err := c.Read(b)
		ok = err == nil
	}
	if !ok {
		t.Fatal("no UDP answer")
	}
	waitFlows(t, e, 0)
}

func TestTCPFlowEndsWithConnection(t *testing.T) {
	port := tcpEcho(t)
	e := newSlirp(t, Config{DNSUpstream: "127.0.0.1:1"})
	g := newGuest(t, e, guestIP, gw)
	ctx, cancel := context.WithDeadline(context.Background(), deadline())
	defer cancel()
	c, err := gonet.DialContextTCP(ctx, g.st, addr4(gw, port), ipv4.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(deadline())
	c.Write([]byte("abc"))
	c.CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "abc" {
		t.Fatalf("read %q, %v", got, err)
	}
	c.Close()
	waitFlows(t, e, 0)
}

func TestCloseEndsFlowsAndReads(t *testing.T) {
	port := tcpEcho(t)
	e := newSlirp(t, Config{DNSUpstream: "127.0.0.1:1"})
	g := newGuest(t, e, guestIP, gw)
	ctx, cancel := context.WithDeadline(context.Background(), deadline())
	defer cancel()
	c, err := gonet.DialContextTCP(ctx, g.st, addr4(gw, port), ipv4.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitFlows(t, e, 1)
	done := make(chan struct{})
	go func() { e.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs with an open flow")
	}
	if e.Flows() != 0 {
		t.Fatalf("Flows() = %d after Close", e.Flows())
	}
}

// A flood of new UDP associations (one per guest source port) beyond the
// cap: the flow count never passes it, the rest are refused, and the
// router keeps serving once the flood's flows idle out.
func TestUDPFloodStaysWithinLimit(t *testing.T) {
	port := udpServer(t, func(b []byte) []byte { return b })
	sink, err := net.ListenPacket("udp4", "127.0.0.1:0") // reads nothing, answers nothing
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	sinkAddr := addr4(gw, uint16(sink.LocalAddr().(*net.UDPAddr).Port))
	e := newSlirp(t, Config{DNSUpstream: "127.0.0.1:1", MaxFlows: 8, UDPIdle: time.Second})
	g := newGuest(t, e, guestIP, gw)
	ra := addr4(gw, port)
	// Warm ARP so the flood is not held in the neighbour queue.
	warm, err := gonet.DialUDP(g.st, nil, &ra, ipv4.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 10)
	for i := 0; i < 20; i++ {
		warm.Write([]byte("w"))
		warm.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
		if _, err := warm.Read(b); err == nil {
			break
		}
	}
	warm.Close()
	for i := 0; i < 200; i++ {
		c, err := gonet.DialUDP(g.st, nil, &sinkAddr, ipv4.ProtocolNumber)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("x"))
		c.Close()
		if n := e.Flows(); n > 8 {
			t.Fatalf("%d flows, cap 8", n)
		}
	}
	// The guest's frames reach the router asynchronously: wait for them.
	end := time.Now().Add(5 * time.Second)
	for e.flows.refused.Load() < 150 {
		if n := e.Flows(); n > 8 {
			t.Fatalf("%d flows, cap 8", n)
		}
		if time.Now().After(end) {
			t.Fatalf("only %d refused", e.flows.refused.Load())
		}
		time.Sleep(time.Millisecond)
	}
	waitFlows(t, e, 0)
	c, err := gonet.DialUDP(g.st, nil, &ra, ipv4.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("again"))
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := c.Read(b); err != nil || string(b[:n]) != "again" {
		t.Fatalf("after the flood: %q %v", b[:n], err)
	}
}
