package slirp

import (
	"net"
	"net/netip"
	"os"
	"runtime"
	"testing"
	"time"
)

// Close ends every goroutine and socket the router started: the
// advertiser, echo associations, forward listeners (added at start and at
// run time) and their UDP associations.
func TestCloseLeavesNothing(t *testing.T) {
	fds := func() int {
		es, _ := os.ReadDir("/proc/self/fd")
		return len(es)
	}
	uport := udpServer(t, func(b []byte) []byte { return b })
	// Warm up netstack's and the runtime's own lazily started goroutines.
	e0, err := New(Config{DNSUpstream: "127.0.0.1:1", Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	e0.Close()
	time.Sleep(50 * time.Millisecond)
	baseG, baseFD := runtime.NumGoroutine(), fds()

	f, _ := ParseForward("127.0.0.1:0:10.0.2.15:80")
	e, err := New(Config{DNSUpstream: "127.0.0.1:1", RA: true, DHCP: true, TCPForwards: []Forward{f}, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.AddForward(UDP, Forward{Listen: "127.0.0.1:0", Guest: netip.MustParseAddrPort("10.0.2.15:53")}); err != nil {
		t.Fatal(err)
	}
	for _, fi := range e.Forwards() {
		if fi.Proto == UDP {
			c, _ := net.Dial("udp4", fi.Bound)
			c.Write([]byte("x")) // opens a forward association
			c.Close()
		}
	}
	want := 2 // the forward's and the guest's UDP associations
	if c, _, err := dialICMP(netip.MustParseAddr("127.0.0.1"), false); err == nil {
		c.Close()
		want++
		send(t, e, guestV4Packet(guestIP, netip.MustParseAddr("127.0.0.1"), protoICMP, echo(false, 5, 1, "x"), 2))
	}
	// A guest UDP association through the NAT.
	u := udpDatagram(4000, uport, []byte("x"))
	m := GatewayMAC(gw)
	fr := frame4(m[:], clientMAC[:], guestIP, gw, protoUDP, u, 6)
	fr.Bytes()[14+20+6], fr.Bytes()[14+20+7] = 0, 0 // no UDP checksum
	send(t, e, fr.Bytes())
	fr.Release()
	waitFlows(t, e, want)
	e.Close()
	end := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > baseG || fds() > baseFD {
		if time.Now().After(end) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines %d (base %d), fds %d (base %d)\n%s", runtime.NumGoroutine(), baseG, fds(), baseFD, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
