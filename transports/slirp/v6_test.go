package slirp

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

var (
	gw6      = netip.MustParseAddr("fd00::2")
	dns6Addr = netip.MustParseAddr("fd00::3")
	ll6      = netip.MustParseAddr("fe80::2")
	guest6IP = netip.MustParseAddr("fd00::15")
)

// ndpDisp is the guest's NDP dispatcher: it installs the discovered
// default router as the default route and records the RDNSS addresses.
type ndpDisp struct {
	router chan tcpip.Address
	rdnss  chan []tcpip.Address
}

func (d *ndpDisp) OnDuplicateAddressDetectionResult(tcpip.NICID, tcpip.Address, stack.DADResult) {}
func (d *ndpDisp) OnOffLinkRouteUpdated(_ tcpip.NICID, dst tcpip.Subnet, r tcpip.Address, _ header.NDPRoutePreference) {
	if dst == header.IPv6EmptySubnet {
		select {
		case d.router <- r:
		default:
		}
	}
}
func (d *ndpDisp) OnOffLinkRouteInvalidated(tcpip.NICID, tcpip.Subnet, tcpip.Address) {}
func (d *ndpDisp) OnOnLinkPrefixDiscovered(tcpip.NICID, tcpip.Subnet)                 {}
func (d *ndpDisp) OnOnLinkPrefixInvalidated(tcpip.NICID, tcpip.Subnet)                {}
func (d *ndpDisp) OnAutoGenAddress(tcpip.NICID, tcpip.AddressWithPrefix) stack.AddressDispatcher {
	return nil
}
func (d *ndpDisp) OnAutoGenAddressDeprecated(tcpip.NICID, tcpip.AddressWithPrefix)  {}
func (d *ndpDisp) OnAutoGenAddressInvalidated(tcpip.NICID, tcpip.AddressWithPrefix) {}
func (d *ndpDisp) OnRecursiveDNSServerOption(_ tcpip.NICID, as []tcpip.Address, _ time.Duration) {
	select {
	case d.rdnss <- as:
	default:
	}
}
func (d *ndpDisp) OnDNSSearchListOption(tcpip.NICID, []string, time.Duration)           {}
func (d *ndpDisp) OnDHCPv6Configuration(tcpip.NICID, ipv6.DHCPv6ConfigurationFromNDPRA) {}

// newGuest6 starts an IPv6-only guest stack that configures itself from
// the router's advertisements (SLAAC, default router) and waits until it
// has a global address, which it returns.
func newGuest6(t *testing.T, e *Endpoint) (*guest, netip.Addr) {
	t.Helper()
	disp := &ndpDisp{router: make(chan tcpip.Address, 1), rdnss: make(chan []tcpip.Address, 1)}
	st := stack.New(stack.Options{
		NetworkProtocols: []stack.NetworkProtocolFactory{ipv6.NewProtocolWithOptions(ipv6.Options{
			NDPDisp: disp,
			NDPConfigs: ipv6.NDPConfigurations{
				MaxRtrSolicitations:     3,
				RtrSolicitationInterval: 200 * time.Millisecond,
				HandleRAs:               ipv6.HandlingRAsEnabledWhenForwardingDisabled,
				DiscoverDefaultRouters:  true,
				DiscoverOnLinkPrefixes:  true,
				AutoGenGlobalAddresses:  true,
			},
			AutoGenLinkLocal: true,
		})},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol},
	})
	g := wireGuest(t, e, st)
	select {
	case r := <-disp.router:
		if netipAddr(r) != ll6 {
			t.Fatalf("default router %v, want %v", r, ll6)
		}
		st.AddRoute(tcpip.Route{Destination: header.IPv6EmptySubnet, Gateway: r, NIC: 1})
	case <-time.After(5 * time.Second):
		t.Fatal("no default router from the RA")
	}
	select {
	case as := <-disp.rdnss:
		if len(as) != 1 || netipAddr(as[0]) != dns6Addr {
			t.Fatalf("RDNSS %v", as)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no RDNSS option")
	}
	end := time.Now().Add(5 * time.Second)
	for {
		for _, a := range st.AllAddresses()[1] {
			if ip := netipAddr(a.AddressWithPrefix.Address); a.Protocol == ipv6.ProtocolNumber && netip.MustParsePrefix("fd00::/64").Contains(ip) {
				return g, ip
			}
		}
		if time.Now().After(end) {
			t.Fatalf("no SLAAC address: %v", st.AllAddresses())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// addr6 converts a netip address for netstack.
func addr6(a netip.Addr, port uint16) tcpip.FullAddress {
	return tcpip.FullAddress{NIC: 1, Addr: tcpip.AddrFrom16(a.As16()), Port: port}
}

// The router advertisement, checked field by field with gVisor's parser.
func TestRouterAdvertisement(t *testing.T) {
	e := newSlirp(t, Config{DNSUpstream: "127.0.0.1:1", RA: true, DHCP: true})
	p := recv(t, e, func(p []byte) bool { return len(p) > 54 && p[12] == 0x86 && p[54] == 134 })
	if got := p[0:6]; string(got) != "\x33\x33\x00\x00\x00\x01" {
		t.Fatalf("destination MAC %x", got)
	}
	ip := header.IPv6(p[14:])
	if !ip.IsValid(len(ip)) || ip.HopLimit() != 255 || netipAddr(ip.SourceAddress()) != ll6 || netipAddr(ip.DestinationAddress()) != allNodes {
		t.Fatalf("IPv6 header %x", p[14:54])
	}
	icmp := header.ICMPv6(ip.Payload())
	if cs := header.ICMPv6Checksum(header.ICMPv6ChecksumParams{Header: icmp, Src: ip.SourceAddress(), Dst: ip.DestinationAddress()}); cs != icmp.Checksum() {
		t.Fatalf("checksum %04x, want %04x", icmp.Checksum(), cs)
	}
	ra := header.NDPRouterAdvert(icmp.MessageBody())
	if !ra.ManagedAddrConfFlag() || !ra.OtherConfFlag() || ra.RouterLifetime() != 1800*time.Second || ra.CurrHopLimit() != 64 {
		t.Fatalf("RA header: M %v O %v lifetime %v", ra.ManagedAddrConfFlag(), ra.OtherConfFlag(), ra.RouterLifetime())
	}
	it, err := ra.Options().Iter(true)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for {
		o, done, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if done {
			break
		}
		switch o := o.(type) {
		case header.NDPSourceLinkLayerAddressOption:
			if m := GatewayMAC(gw); string(o.EthernetAddress()) != string(m[:]) {
				t.Errorf("source link address %v", o.EthernetAddress())
			}
			seen["sll"] = true
		case header.NDPPrefixInformation:
			if o.Subnet().String() != "fd00::/64" || !o.OnLinkFlag() || !o.AutonomousAddressConfigurationFlag() || o.ValidLifetime() != 86400*time.Second {
				t.Errorf("prefix %v", o)
			}
			seen["prefix"] = true
		case header.NDPRecursiveDNSServer:
			as, err := o.Addresses()
			if err != nil || len(as) != 1 || netipAddr(as[0]) != dns6Addr {
				t.Errorf("RDNSS %v %v", as, err)
			}
			seen["rdnss"] = true
		}
	}
	for o := []byte(ra.Options()); len(o) >= 8 && o[1] > 0 && len(o) >= int(o[1])*8; o = o[int(o[1])*8:] {
		if o[0] == 5 && binary.BigEndian.Uint32(o[4:]) == 1500 {
			seen["mtu"] = true
		}
	}
	if len(seen) != 4 {
		t.Fatalf("options seen %v", seen)
	}
	// A router solicitation is answered at once.
	rs := frame6(multicastMAC6(netip.MustParseAddr("ff02::2")), clientMAC[:], netip.MustParseAddr("fe80::1"), netip.MustParseAddr("ff02::2"), protoICMP6, 255, []byte{133, 0, 0, 0, 0, 0, 0, 0}, 2)
	send(t, e, rs.Bytes())
	rs.Release()
	recv(t, e, func(p []byte) bool { return len(p) > 54 && p[12] == 0x86 && p[54] == 134 })
}

// An IPv6-only guest autoconfigures from the RA and reaches the host's
// ::1 over TCP and UDP through the gateway's IPv6 address, and the
// upstream resolver through the IPv6 DNS address.
func TestIPv6GuestSLAACReachesHostLoopback(t *testing.T) {
	port := tcpEcho6(t)
	uport := udpServer6(t, func(b []byte) []byte { return append([]byte("v6:"), b...) })
	dns := udpServer(t, func(b []byte) []byte { return append([]byte("dns:"), b...) })
	e := newSlirp(t, Config{DNSUpstream: "127.0.0.1:" + strconv.Itoa(int(dns)), RA: true})
	g, a := newGuest6(t, e)
	if !netip.MustParsePrefix("fd00::/64").Contains(a) {
		t.Fatalf("address %v", a)
	}
	tcpRoundTrip(t, g, addr6(gw6, port), ipv6.ProtocolNumber)
	if got := udpRoundTrip(t, g, addr6(gw6, uport), ipv6.ProtocolNumber); got != "v6:ping" {
		t.Fatalf("UDP via %v: %q", gw6, got)
	}
	if got := udpRoundTrip(t, g, addr6(dns6Addr, 53), ipv6.ProtocolNumber); got != "dns:ping" {
		t.Fatalf("DNS via %v: %q", dns6Addr, got)
	}
}

// NAT64's well-known prefix: an IPv6-only guest reaches IPv4 hosts, the
// gateway's IPv4 address meaning the host's 127.0.0.1.
func TestIPv6GuestReachesIPv4ThroughNAT64Prefix(t *testing.T) {
	port := tcpEcho(t)
	e := newSlirp(t, Config{DNSUpstream: "127.0.0.1:1", RA: true})
	g, _ := newGuest6(t, e)
	for _, dst := range []string{"64:ff9b::127.0.0.1", "64:ff9b::10.0.2.2"} {
		tcpRoundTrip(t, g, addr6(netip.MustParseAddr(dst), port), ipv6.ProtocolNumber)
	}
}

// guestV6Packet builds a guest's IPv6 frame to the router with a valid
// transport checksum.
func guestV6Packet(src, dst netip.Addr, proto byte, payload []byte, csumOff int) []byte {
	m := GatewayMAC(gw)
	f := frame6(m[:], clientMAC[:], src, dst, proto, 255, payload, csumOff)
	defer f.Release()
	return append([]byte(nil), f.Bytes()...)
}

// isV6From matches frames to the guest with source src and protocol proto.
func isV6From(src netip.Addr, proto byte) func([]byte) bool {
	return func(p []byte) bool {
		return len(p) >= 54 && p[12] == 0x86 && p[13] == 0xdd && p[20] == proto && netip.AddrFrom16([16]byte(p[22:38])) == src
	}
}

// neighbourSolicitation is the ICMPv6 message of a neighbour solicitation
// for target with the guest's MAC as source link-layer address.
func neighbourSolicitation(target netip.Addr) []byte {
	ns := make([]byte, 32)
	ns[0] = 135
	b := target.As16()
	copy(ns[8:24], b[:])
	ns[24], ns[25] = 1, 1
	copy(ns[26:32], clientMAC[:])
	return ns
}

// introduceGuest6 lets the stack know the guest's MAC (a neighbour
// solicitation from it for the gateway, and the answer) so its answers
// need no resolution round.
func introduceGuest6(t *testing.T, e *Endpoint) {
	t.Helper()
	send(t, e, guestV6Packet(guest6IP, gw6, protoICMP6, neighbourSolicitation(gw6), 2))
	recv(t, e, isV6From(gw6, protoICMP6))
}

// checkTransport6 verifies the transport checksum of an IPv6 frame.
func checkTransport6(t *testing.T, p []byte) {
	t.Helper()
	ip := header.IPv6(p[14:])
	pl := ip.Payload()
	sum := header.PseudoHeaderChecksum(tcpip.TransportProtocolNumber(ip.NextHeader()), ip.SourceAddress(), ip.DestinationAddress(), uint16(len(pl)))
	if checksum.Checksum(pl, sum) != 0xffff {
		t.Fatalf("bad transport checksum in %x", p)
	}
}

// IPv4-mapped destinations (::ffff:a.b.c.d), which Linux and gVisor
// refuse to put on the wire, built by hand: UDP and TCP reach the IPv4
// host (::ffff:10.0.2.2 meaning 127.0.0.1), answers come back from the
// mapped address with valid checksums.
func TestIPv4MappedDestinations(t *testing.T) {
	uport := udpServer(t, func(b []byte) []byte { return append([]byte("v4:"), b...) })
	tport := tcpEcho(t)
	e := newSlirp(t, Config{DNSUpstream: "127.0.0.1:1"})
	introduceGuest6(t, e)

	for _, dst := range []string{"::ffff:127.0.0.1", "::ffff:10.0.2.2"} {
		d := netip.MustParseAddr(dst)
		u := udpDatagram(40000, uport, []byte("hi"))
		send(t, e, guestV6Packet(guest6IP, d, protoUDP, u, 6))
		p := recv(t, e, isV6From(d, protoUDP))
		checkTransport6(t, p)
		if got := string(p[14+40+8:]); got != "v4:hi" {
			t.Fatalf("UDP answer from %v: %q", d, got)
		}
		syn := make([]byte, 20)
		binary.BigEndian.PutUint16(syn[0:], 40001)
		binary.BigEndian.PutUint16(syn[2:], tport)
		binary.BigEndian.PutUint32(syn[4:], 1000)
		syn[12], syn[13] = 5<<4, 0x02 // SYN
		binary.BigEndian.PutUint16(syn[14:], 65535)
		send(t, e, guestV6Packet(guest6IP, d, 6, syn, 16))
		p = recv(t, e, isV6From(d, 6))
		checkTransport6(t, p)
		if fl := p[14+40+13]; fl&0x12 != 0x12 || binary.BigEndian.Uint32(p[14+40+8:]) != 1001 {
			t.Fatalf("answer to SYN via %v: flags %#x", d, fl)
		}
		rst := append([]byte(nil), syn...)
		binary.BigEndian.PutUint32(rst[4:], 1001)
		rst[13] = 0x04
		send(t, e, guestV6Packet(guest6IP, d, 6, rst, 16))
	}
}

// Neighbour solicitations are answered for the router's own addresses
// only: with spoofing on, the stack would otherwise claim every address
// (and break the guests' duplicate address detection).
func TestNeighbourSolicitationsOnlyForOwnAddresses(t *testing.T) {
	e := newSlirp(t, Config{DNSUpstream: "127.0.0.1:1"})
	solicit := func(target netip.Addr) []byte {
		return guestV6Packet(netip.MustParseAddr("fe80::1"), target, protoICMP6, neighbourSolicitation(target), 2)
	}
	for _, a := range []netip.Addr{netip.MustParseAddr("fd00::99"), netip.MustParseAddr("fe80::99")} {
		send(t, e, solicit(a))
	}
	for _, a := range []netip.Addr{gw6, dns6Addr, ll6} {
		send(t, e, solicit(a))
		p := recv(t, e, isV6From(a, protoICMP6))
		if p[54] != 136 {
			t.Fatalf("answer to NS for %v: type %d", a, p[54])
		}
	}
	select {
	case f := <-e.out:
		t.Fatalf("unexpected frame %x", f.Bytes())
	default:
	}
}

// A TCP forward on the host's ::1 reaches an IPv6 guest, added at run time
// and removed again.
func TestIPv6ForwardAddedAtRunTime(t *testing.T) {
	e := newSlirp(t, Config{DNSUpstream: "127.0.0.1:1", RA: true})
	g, a := newGuest6(t, e)
	guestServeTCP(t, g, addr6(a, 8080), ipv6.ProtocolNumber, func(c net.Conn) {
		c.Write([]byte("guest6 says hi"))
		c.Close()
	})
	f, err := ParseForward("[::1]:0:[" + a.String() + "]:8080")
	if err != nil {
		t.Fatal(err)
	}
	bound, err := e.AddForward(TCP, f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.AddForward(TCP, Forward{Listen: bound, Guest: f.Guest}); err == nil {
		t.Fatal("the same address forwarded twice")
	}
	c, err := net.DialTimeout("tcp6", bound, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(deadline())
	got, err := io.ReadAll(c)
	c.Close()
	if err != nil || string(got) != "guest6 says hi" {
		t.Fatalf("read %q, %v", got, err)
	}
	if fs := e.Forwards(); len(fs) != 1 || fs[0].Bound != bound || fs[0].Guest.Addr() != a {
		t.Fatalf("Forwards() = %v", fs)
	}
	if err := e.RemoveForward(TCP, f.Listen); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp6", bound, time.Second); err == nil {
		c.Close()
		t.Fatal("removed forward still listens")
	}
	if err := e.RemoveForward(TCP, f.Listen); err == nil {
		t.Fatal("removed twice")
	}
}

// The flow limit covers IPv6 flows like IPv4 ones, and says when it bites.
func TestIPv6FlowLimit(t *testing.T) {
	port := tcpEcho6(t)
	logs := make(chan string, 10)
	e := newSlirp(t, Config{DNSUpstream: "127.0.0.1:1", RA: true, MaxFlows: 1, Logf: func(f string, a ...any) { logs <- f }})
	g, _ := newGuest6(t, e)
	ctx, cancel := context.WithDeadline(context.Background(), deadline())
	defer cancel()
	c1, err := gonet.DialContextTCP(ctx, g.st, addr6(gw6, port), ipv6.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := gonet.DialContextTCP(ctx, g.st, addr6(gw6, port), ipv6.ProtocolNumber); err == nil {
		c.Close()
		t.Fatal("a second IPv6 connection beyond the limit was accepted")
	}
	if e.flows.refused.Load() != 1 || len(logs) != 1 {
		t.Fatalf("refused %d, %d log lines", e.flows.refused.Load(), len(logs))
	}
	c1.Close()
	waitFlows(t, e, 0)
	if len(logs) != 2 {
		t.Fatalf("%d log lines, want the limit's start and end", len(logs))
	}
}
