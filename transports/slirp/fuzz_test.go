package slirp

import (
	"net/netip"
	"testing"

	"github.com/govde/govde/frames"
)

// FuzzWriteBatch feeds arbitrary frames to the packet entry: nothing may
// panic, and the endpoint keeps working (it still answers ARP afterwards).
// Each input goes in as is, and with the router's MAC as IPv4, ARP and
// IPv6. The router NATs to loopback only here, so fuzzing sends nothing
// outside the machine.
func FuzzWriteBatch(f *testing.F) {
	f.Add(dhcpFrame(clientMAC, 1, dhcpDiscover, netip.Addr{}))
	f.Add(dhcpFrame(clientMAC, 2, dhcpRequest, guestIP))
	f.Add(arpRequest(gw))
	f.Add([]byte{})
	f.Add(make([]byte, 60))
	// IPv6: a router solicitation, a neighbour solicitation, DHCPv6
	// solicit and information request, echo requests (NATed and local), a
	// v4-mapped UDP datagram and a NAT64 SYN.
	f.Add(guestV6Packet(netip.MustParseAddr("fe80::1"), netip.MustParseAddr("ff02::2"), protoICMP6, []byte{133, 0, 0, 0, 0, 0, 0, 0}, 2))
	ns := make([]byte, 32)
	ns[0] = 135
	b := gw6.As16()
	copy(ns[8:24], b[:])
	ns[24], ns[25] = 1, 1
	f.Add(guestV6Packet(guest6IP, gw6, protoICMP6, ns, 2))
	f.Add(guestV6Packet(clientLL, allDHCP6Agent, protoUDP, udpDatagram(dhcp6ClientPort, dhcp6ServerPort, dhcp6Client(dhcp6Solicit, []byte{1, 2}, opt6IANA, iaNA(guest6IP), opt6RapidCommit, []byte{})), 6))
	f.Add(guestV6Packet(clientLL, allDHCP6Agent, protoUDP, udpDatagram(dhcp6ClientPort, dhcp6ServerPort, dhcp6Client(dhcp6InfoRequest, nil)), 6))
	f.Add(guestV6Packet(guest6IP, netip.MustParseAddr("::ffff:127.0.0.1"), protoICMP6, echo(true, 1, 1, "x"), 2))
	f.Add(guestV6Packet(guest6IP, gw6, protoICMP6, echo(true, 1, 1, "x"), 2))
	f.Add(guestV6Packet(guest6IP, netip.MustParseAddr("::ffff:127.0.0.1"), protoUDP, udpDatagram(1, 9, []byte("x")), 6))
	syn := make([]byte, 20)
	syn[3], syn[12], syn[13] = 9, 5<<4, 2
	f.Add(guestV6Packet(guest6IP, netip.MustParseAddr("64:ff9b::127.0.0.1"), 6, syn, 16))
	f.Add(guestV4Packet(guestIP, netip.MustParseAddr("127.0.0.1"), protoICMP, echo(false, 1, 1, "x"), 2))
	e, err := New(Config{DHCP: true, RA: true, DNSUpstream: "127.0.0.1:1", Logf: func(string, ...any) {}})
	if err != nil {
		f.Fatal(err)
	}
	e.onlyLoopback = true
	defer e.Close()
	m := GatewayMAC(gw)
	f.Fuzz(func(t *testing.T, p []byte) {
		b := frames.GetBatch()
		b.Add(frames.GetCopy(p))
		if len(p) >= 14 {
			for _, typ := range [][2]byte{{0x08, 0x00}, {0x08, 0x06}, {0x86, 0xdd}} {
				q := append([]byte(nil), p...)
				copy(q[0:6], m[:])
				q[12], q[13] = typ[0], typ[1]
				b.Add(frames.GetCopy(q))
			}
		}
		if err := e.WriteBatch(b); err != nil {
			t.Fatal(err)
		}
		b.Release()
		for len(e.out) > 0 {
			(<-e.out).Release()
		}
	})
}
