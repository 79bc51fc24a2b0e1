package slirp

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/govde/govde/frames"
)

var clientMAC = [6]byte{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}

// dhcpFrame builds a DHCP client message by hand: Ethernet broadcast from
// mac, 0.0.0.0:68 -> 255.255.255.255:67, with message type typ and, if
// valid, option 50 (requested address).
func dhcpFrame(mac [6]byte, xid uint32, typ byte, req netip.Addr) []byte {
	m := make([]byte, bootpFixed+4, bootpMinSize)
	m[0], m[1], m[2] = 1, 1, 6
	binary.BigEndian.PutUint32(m[4:], xid)
	copy(m[28:], mac[:])
	binary.BigEndian.PutUint32(m[bootpFixed:], dhcpMagic)
	m = append(m, 53, 1, typ)
	if req.IsValid() {
		a := req.As4()
		m = append(m, 50, 4, a[0], a[1], a[2], a[3])
	}
	m = append(m, 255)
	p := make([]byte, 14+ipHdrLen+udpHdrLen, 14+ipHdrLen+udpHdrLen+len(m))
	copy(p[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(p[6:12], mac[:])
	binary.BigEndian.PutUint16(p[12:], 0x0800)
	ip := p[14:]
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(ip[2:], uint16(ipHdrLen+udpHdrLen+len(m)))
	copy(ip[16:20], []byte{255, 255, 255, 255})
	binary.BigEndian.PutUint16(ip[10:], ipChecksum(ip[:ipHdrLen]))
	u := ip[ipHdrLen:]
	binary.BigEndian.PutUint16(u[0:], 68)
	binary.BigEndian.PutUint16(u[2:], 67)
	binary.BigEndian.PutUint16(u[4:], uint16(udpHdrLen+len(m)))
	return append(p, m...)
}

// send writes one frame to e.
func send(t *testing.T, e *Endpoint, p []byte) {
	t.Helper()
	b := frames.GetBatch()
	b.Add(frames.GetCopy(p))
	if err := e.WriteBatch(b); err != nil {
		t.Fatal(err)
	}
	b.Release()
}

// recv returns the next frame e emits, failing after 2 s; match filters.
func recv(t *testing.T, e *Endpoint, match func([]byte) bool) []byte {
	t.Helper()
	end := time.After(2 * time.Second)
	for {
		select {
		case f := <-e.out:
			p := append([]byte(nil), f.Bytes()...)
			f.Release()
			if match(p) {
				return p
			}
		case <-end:
			t.Fatal("no frame")
			return nil
		}
	}
}

func isDHCPReply(p []byte) bool {
	return len(p) > 14+ipHdrLen+udpHdrLen && binary.BigEndian.Uint16(p[12:]) == 0x0800 && p[23] == 17 && binary.BigEndian.Uint16(p[34:]) == 67
}

// dhcpReply checks the common reply fields and returns the options.
func dhcpReply(t *testing.T, p []byte, xid uint32) (yiaddr, siaddr netip.Addr, opts map[byte][]byte) {
	t.Helper()
	if [6]byte(p[0:6]) != clientMAC || [6]byte(p[6:12]) != [6]byte{0x52, 0x55, 10, 0, 2, 2} {
		t.Fatalf("ethernet %x -> %x", p[6:12], p[0:6])
	}
	ip := p[14:]
	if netip.AddrFrom4([4]byte(ip[12:16])) != gw || netip.AddrFrom4([4]byte(ip[16:20])) != netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		t.Fatalf("ip %v -> %v", ip[12:16], ip[16:20])
	}
	if ipChecksum(ip[:ipHdrLen]) != 0 {
		t.Fatal("bad IPv4 header checksum")
	}
	if binary.BigEndian.Uint16(ip[22:]) != 68 {
		t.Fatal("not to port 68")
	}
	m := ip[ipHdrLen+udpHdrLen:]
	if m[0] != 2 || binary.BigEndian.Uint32(m[4:]) != xid || [6]byte(m[28:34]) != clientMAC {
		t.Fatalf("bootp op %d xid %x chaddr %x", m[0], m[4:8], m[28:34])
	}
	opts = map[byte][]byte{}
	o := m[bootpFixed+4:]
	for len(o) >= 2 && o[0] != 255 {
		opts[o[0]] = o[2 : 2+int(o[1])]
		o = o[2+int(o[1]):]
	}
	return netip.AddrFrom4([4]byte(m[16:20])), netip.AddrFrom4([4]byte(m[20:24])), opts
}

func TestDHCPOfferAckNak(t *testing.T) {
	e := newSlirp(t, Config{DHCP: true, DNSUpstream: "127.0.0.1:1"})
	send(t, e, dhcpFrame(clientMAC, 0x1234, dhcpDiscover, netip.Addr{}))
	y, s, o := dhcpReply(t, recv(t, e, isDHCPReply), 0x1234)
	if y != guestIP || s != gw {
		t.Fatalf("offer yiaddr %v siaddr %v", y, s)
	}
	want := map[byte]string{53: "\x02", 54: "\x0a\x00\x02\x02", 1: "\xff\xff\xff\x00", 3: "\x0a\x00\x02\x02", 6: "\x0a\x00\x02\x03", 51: "\x00\x01\x51\x80"}
	if len(o) != len(want) {
		t.Fatalf("offer options %v", o)
	}
	for k, v := range want {
		if string(o[k]) != v {
			t.Fatalf("offer option %d = %x, want %x", k, o[k], v)
		}
	}
	send(t, e, dhcpFrame(clientMAC, 0x1235, dhcpRequest, guestIP))
	y, _, o = dhcpReply(t, recv(t, e, isDHCPReply), 0x1235)
	if y != guestIP || string(o[53]) != "\x05" || string(o[51]) != want[51] {
		t.Fatalf("ack yiaddr %v options %v", y, o)
	}
	// The lease is sticky: a second DISCOVER offers the same address, and
	// another client gets the next one.
	send(t, e, dhcpFrame(clientMAC, 0x1236, dhcpDiscover, netip.Addr{}))
	if y, _, _ = dhcpReply(t, recv(t, e, isDHCPReply), 0x1236); y != guestIP {
		t.Fatalf("second offer %v", y)
	}
	other := clientMAC
	other[5] = 0x57
	send(t, e, dhcpFrame(other, 0x2000, dhcpDiscover, netip.Addr{}))
	p := recv(t, e, isDHCPReply)
	if got := netip.AddrFrom4([4]byte(p[14+ipHdrLen+udpHdrLen+16:][:4])); got != netip.MustParseAddr("10.0.2.16") {
		t.Fatalf("second client offered %v", got)
	}
	// An address that is not this client's lease is refused.
	send(t, e, dhcpFrame(clientMAC, 0x1237, dhcpRequest, netip.MustParseAddr("10.0.2.99")))
	_, _, o = dhcpReply(t, recv(t, e, isDHCPReply), 0x1237)
	if string(o[53]) != "\x06" || string(o[56]) != "requested address not available" {
		t.Fatalf("nak options %v", o)
	}
}

func TestNoDHCPWithoutOption(t *testing.T) {
	e := newSlirp(t, Config{DNSUpstream: "127.0.0.1:1"})
	send(t, e, dhcpFrame(clientMAC, 1, dhcpDiscover, netip.Addr{}))
	select {
	case f := <-e.out:
		p := f.Bytes()
		defer f.Release()
		if isDHCPReply(p) {
			t.Fatal("DHCP answered without DHCP enabled")
		}
	case <-time.After(200 * time.Millisecond):
	}
}

// arpRequest builds who-has target tell 10.0.2.15 from clientMAC.
func arpRequest(target netip.Addr) []byte {
	p := make([]byte, 42)
	copy(p[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(p[6:12], clientMAC[:])
	binary.BigEndian.PutUint16(p[12:], 0x0806)
	a := p[14:]
	binary.BigEndian.PutUint16(a[0:], 1)
	binary.BigEndian.PutUint16(a[2:], 0x0800)
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:], 1)
	copy(a[8:14], clientMAC[:])
	g := guestIP.As4()
	copy(a[14:18], g[:])
	tg := target.As4()
	copy(a[24:28], tg[:])
	return p
}

func isARPReply(p []byte) bool {
	return len(p) >= 42 && binary.BigEndian.Uint16(p[12:]) == 0x0806 && binary.BigEndian.Uint16(p[20:]) == 2
}

func TestARPOnlyForGatewayAndDNS(t *testing.T) {
	e := newSlirp(t, Config{DNSUpstream: "127.0.0.1:1"})
	for _, a := range []netip.Addr{gw, dnsAddr} {
		send(t, e, arpRequest(a))
		p := recv(t, e, isARPReply)
		if [6]byte(p[22:28]) != GatewayMAC(gw) || netip.AddrFrom4([4]byte(p[28:32])) != a || [6]byte(p[0:6]) != clientMAC {
			t.Fatalf("ARP reply for %v: % x", a, p[:42])
		}
	}
	send(t, e, arpRequest(netip.MustParseAddr("10.0.2.50")))
	select {
	case f := <-e.out:
		defer f.Release()
		if isARPReply(f.Bytes()) {
			t.Fatal("ARP answered for an address the router does not own")
		}
	case <-time.After(200 * time.Millisecond):
	}
}

func TestGatewayMAC(t *testing.T) {
	if m := GatewayMAC(netip.MustParseAddr("10.0.2.3")); m != [6]byte{0x52, 0x55, 0x0a, 0, 2, 3} {
		t.Fatalf("%x", m)
	}
}
