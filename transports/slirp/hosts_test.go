package slirp

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
)

// Servers on the host's loopback and on the guest, and round trips from
// the guest, shared by the IPv4 and the IPv6 tests.

// tcpEcho runs an echo server on 127.0.0.1 and returns its port.
func tcpEcho(t *testing.T) uint16 { return tcpEchoOn(t, "tcp4", "127.0.0.1:0") }

// tcpEcho6 runs an echo server on [::1] and returns its port.
func tcpEcho6(t *testing.T) uint16 { return tcpEchoOn(t, "tcp6", "[::1]:0") }

// tcpEchoOn runs an echo server listening on network and addr until the
// test ends, and returns its port.
func tcpEchoOn(t *testing.T, network, addr string) uint16 {
	t.Helper()
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return uint16(l.Addr().(*net.TCPAddr).Port)
}

// udpServer runs a UDP server on 127.0.0.1 answering each datagram with
// reply(datagram), and returns its port.
func udpServer(t *testing.T, reply func([]byte) []byte) uint16 {
	return udpServerOn(t, "udp4", "127.0.0.1:0", reply)
}

// udpServer6 runs a UDP server on [::1] answering reply(datagram).
func udpServer6(t *testing.T, reply func([]byte) []byte) uint16 {
	return udpServerOn(t, "udp6", "[::1]:0", reply)
}

// udpServerOn runs a UDP server on network and addr answering each
// datagram with reply(datagram) until the test ends, and returns its port.
func udpServerOn(t *testing.T, network, addr string, reply func([]byte) []byte) uint16 {
	t.Helper()
	pc, err := net.ListenPacket(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		b := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(b)
			if err != nil {
				return
			}
			pc.WriteTo(reply(b[:n]), from)
		}
	}()
	return uint16(pc.LocalAddr().(*net.UDPAddr).Port)
}

// guestServeTCP listens on the guest at a and hands each connection to
// serve, in a goroutine of its own, until the test ends.
func guestServeTCP(t *testing.T, g *guest, a tcpip.FullAddress, proto tcpip.NetworkProtocolNumber, serve func(net.Conn)) {
	t.Helper()
	gl, err := gonet.ListenTCP(g.st, a, proto)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gl.Close() })
	go func() {
		for {
			c, err := gl.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
}

// tcpRoundTrip connects the guest to dst, sends msg and expects it back.
func tcpRoundTrip(t *testing.T, g *guest, dst tcpip.FullAddress, proto tcpip.NetworkProtocolNumber) {
	t.Helper()
	ctx, cancel := context.WithDeadline(context.Background(), deadline())
	defer cancel()
	c, err := gonet.DialContextTCP(ctx, g.st, dst, proto)
	if err != nil {
		t.Fatalf("dial %v: %v", dst.Addr, err)
	}
	defer c.Close()
	c.SetDeadline(deadline())
	msg := []byte("hello " + dst.Addr.String())
	c.Write(msg)
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != string(msg) {
		t.Fatalf("echo via %v: %q %v", dst.Addr, got, err)
	}
}

// udpRoundTrip sends "ping" from the guest to dst until an answer comes
// (the first datagrams may wait for address resolution), and returns it.
func udpRoundTrip(t *testing.T, g *guest, dst tcpip.FullAddress, proto tcpip.NetworkProtocolNumber) string {
	t.Helper()
	c, err := gonet.DialUDP(g.st, nil, &dst, proto)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b := make([]byte, 100)
	for i := 0; i < 20; i++ {
		c.Write([]byte("ping"))
		c.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
		if n, err := c.Read(b); err == nil {
			return string(b[:n])
		}
	}
	return ""
}
