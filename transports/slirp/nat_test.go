package slirp

import (
	"context"
	"io"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
)

var (
	gw      = netip.MustParseAddr("10.0.2.2")
	dnsAddr = netip.MustParseAddr("10.0.2.3")
	guestIP = netip.MustParseAddr("10.0.2.15")
)

func TestTCPToGatewayReachesHostLoopback(t *testing.T) {
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
	c.SetDeadline(deadline())
	msg := []byte("hello through slirp")
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != string(msg) {
		t.Fatalf("echo %q, want %q", got, msg)
	}
	if e.Flows() != 1 {
		t.Fatalf("Flows() = %d, want 1", e.Flows())
	}
}

func TestTCPToClosedPortIsReset(t *testing.T) {
	l, _ := net.Listen("tcp4", "127.0.0.1:0")
	port := uint16(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	e := newSlirp(t, Config{DNSUpstream: "127.0.0.1:1"})
	g := newGuest(t, e, guestIP, gw)
	ctx, cancel := context.WithDeadline(context.Background(), deadline())
	defer cancel()
	if c, err := gonet.DialContextTCP(ctx, g.st, addr4(gw, port), ipv4.ProtocolNumber); err == nil {
		c.Close()
		t.Fatal("connect to a closed host port succeeded")
	}
}

func TestUDPToGatewayAndDNSForwarder(t *testing.T) {
	echo := udpServer(t, func(b []byte) []byte { return append([]byte("echo:"), b...) })
	dns := udpServer(t, func(b []byte) []byte { return append([]byte("dns:"), b...) })
	e := newSlirp(t, Config{DNSUpstream: "127.0.0.1:" + strconv.Itoa(int(dns))})
	g := newGuest(t, e, guestIP, gw)
	for _, tc := range []struct {
		dst  netip.Addr
		port uint16
		want string
	}{{gw, echo, "echo:ping"}, {dnsAddr, 53, "dns:ping"}} {
		if got := udpRoundTrip(t, g, addr4(tc.dst, tc.port), ipv4.ProtocolNumber); got != tc.want {
			t.Fatalf("%v:%d answered %q, want %q", tc.dst, tc.port, got, tc.want)
		}
	}
}

func TestTCPPortForwardReachesGuest(t *testing.T) {
	l, _ := net.Listen("tcp4", "127.0.0.1:0")
	hostPort := l.Addr().(*net.TCPAddr).Port
	l.Close()
	f, err := ParseForward("127.0.0.1:" + strconv.Itoa(hostPort) + ":10.0.2.15:8080")
	if err != nil {
		t.Fatal(err)
	}
	e := newSlirp(t, Config{DNSUpstream: "127.0.0.1:1", TCPForwards: []Forward{f}})
	g := newGuest(t, e, guestIP, gw)
	guestServeTCP(t, g, addr4(guestIP, 8080), ipv4.ProtocolNumber, func(c net.Conn) {
		c.Write([]byte("guest says hi"))
		c.Close()
	})
	c, err := net.DialTimeout("tcp4", "127.0.0.1:"+strconv.Itoa(hostPort), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(deadline())
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "guest says hi" {
		t.Fatalf("read %q, %v", got, err)
	}
}

func TestFlowLimitRefusesAndLogsOnce(t *testing.T) {
	port := tcpEcho(t)
	logs := make(chan string, 10)
	e := newSlirp(t, Config{DNSUpstream: "127.0.0.1:1", MaxFlows: 1, Logf: func(f string, a ...any) { logs <- f }})
	g := newGuest(t, e, guestIP, gw)
	ctx, cancel := context.WithDeadline(context.Background(), deadline())
	defer cancel()
	c1, err := gonet.DialContextTCP(ctx, g.st, addr4(gw, port), ipv4.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	for i := 0; i < 3; i++ {
		if c, err := gonet.DialContextTCP(ctx, g.st, addr4(gw, port), ipv4.ProtocolNumber); err == nil {
			c.Close()
			t.Fatalf("connection %d beyond the limit accepted", i+2)
		}
	}
	if len(logs) != 1 {
		t.Fatalf("%d log lines, want 1", len(logs))
	}
	if e.flows.refused.Load() != 3 {
		t.Fatalf("refused %d, want 3", e.flows.refused.Load())
	}
}

func TestUDPPortForwardReachesGuest(t *testing.T) {
	pc0, _ := net.ListenPacket("udp4", "127.0.0.1:0")
	hostPort := pc0.LocalAddr().(*net.UDPAddr).Port
	pc0.Close()
	f, err := ParseForward("127.0.0.1:" + strconv.Itoa(hostPort) + ":10.0.2.15:5353")
	if err != nil {
		t.Fatal(err)
	}
	e := newSlirp(t, Config{DNSUpstream: "127.0.0.1:1", UDPForwards: []Forward{f}})
	g := newGuest(t, e, guestIP, gw)
	la := addr4(guestIP, 5353)
	gc, err := gonet.DialUDP(g.st, &la, nil, ipv4.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	defer gc.Close()
	go func() {
		b := make([]byte, 100)
		for {
			n, from, err := gc.ReadFrom(b)
			if err != nil {
				return
			}
			gc.WriteTo(append([]byte("guest:"), b[:n]...), from)
		}
	}()
	c, err := net.Dial("udp4", "127.0.0.1:"+strconv.Itoa(hostPort))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := ""
	b := make([]byte, 100)
	for i := 0; i < 20 && got == ""; i++ { // the first datagrams may wait for ARP
		c.Write([]byte("hi"))
		c.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
		if n, err := c.Read(b); err == nil {
			got = string(b[:n])
		}
	}
	if got != "guest:hi" {
		t.Fatalf("forwarded UDP answer %q", got)
	}
}
