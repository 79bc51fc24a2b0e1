package slirp

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/govde/govde/transports/vnl"
)

// The router's TCP advertises the MSS of its MTU (1460 over IPv4 at the
// default 1500): the link under the stack carries whole Ethernet frames, so
// its size must include the 14-byte header the Ethernet layer takes off.
func TestRouterMSSFullMTU(t *testing.T) {
	for _, mtu := range []int{0, 9000} {
		want := 1460
		if mtu != 0 {
			want = mtu - 40
		}
		routerMSS(t, mtu, want)
	}
}

func routerMSS(t *testing.T, mtu, want int) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	e := newSlirp(t, Config{MTU: mtu})
	// the router learns the guest's MAC from its ARP request
	send(t, e, arpRequest(gw))
	recv(t, e, isARPReply)
	syn := make([]byte, 24) // TCP header + MSS option
	binary.BigEndian.PutUint16(syn[0:], 40000)
	binary.BigEndian.PutUint16(syn[2:], port)
	binary.BigEndian.PutUint32(syn[4:], 1000)
	syn[12] = 6 << 4 // data offset: 24 bytes
	syn[13] = 0x02   // SYN
	binary.BigEndian.PutUint16(syn[14:], 65535)
	syn[20], syn[21] = 2, 4
	binary.BigEndian.PutUint16(syn[22:], 1460)
	pkt := guestV4Packet(guestIP, gw, 6, syn, 16)
	// TCP's checksum covers a pseudo-header too
	tcpSeg := pkt[14+20:]
	tcpSeg[16], tcpSeg[17] = 0, 0
	ph := make([]byte, 12)
	copy(ph[0:8], pkt[14+12:14+20])
	ph[9] = 6
	binary.BigEndian.PutUint16(ph[10:], uint16(len(tcpSeg)))
	binary.BigEndian.PutUint16(tcpSeg[16:], checksumFold(checksumAdd(checksumAdd(0, ph), tcpSeg)))
	send(t, e, pkt)
	p := recv(t, e, func(p []byte) bool { return isV4From(gw, 6)(p) && p[14+20+13]&0x12 == 0x12 })
	tcp := p[14+20:]
	opts := tcp[20 : int(tcp[12]>>4)*4]
	mss := -1
	for i := 0; i < len(opts) && opts[i] != 0; {
		if opts[i] == 1 {
			i++
			continue
		}
		if i+1 >= len(opts) || opts[i+1] < 2 {
			break
		}
		if opts[i] == 2 && opts[i+1] == 4 && i+4 <= len(opts) {
			mss = int(binary.BigEndian.Uint16(opts[i+2:]))
		}
		i += int(opts[i+1])
	}
	if mss != want {
		t.Fatalf("MTU %d: SYN-ACK MSS %d, want %d", mtu, mss, want)
	}
}

// A non-default MTU is announced: DHCP option 26 and the router
// advertisement's MTU option carry it; at 1500 DHCP leaves option 26 out.
func TestMTUAnnounced(t *testing.T) {
	for _, mtu := range []int{0, 9000} {
		e := newSlirp(t, Config{DHCP: true, DNSUpstream: "127.0.0.1:1", MTU: mtu})
		send(t, e, dhcpFrame(clientMAC, 0x77, dhcpDiscover, netip.Addr{}))
		_, _, o := dhcpReply(t, recv(t, e, isDHCPReply), 0x77)
		got, ok := o[26]
		switch {
		case mtu == 0 && ok:
			t.Fatalf("MTU option %x at the default MTU", got)
		case mtu != 0 && (len(got) != 2 || int(binary.BigEndian.Uint16(got)) != mtu):
			t.Fatalf("DHCP MTU option %x, want %d", got, mtu)
		}
		want := uint32(max(mtu, DefaultMTU))
		ra := e.buildRA()
		found := false
		for i := 16; i+8 <= len(ra); i += int(ra[i+1]) * 8 {
			if ra[i+1] == 0 {
				break
			}
			if ra[i] == 5 {
				found = true
				if v := binary.BigEndian.Uint32(ra[i+4:]); v != want {
					t.Fatalf("RA MTU %d, want %d", v, want)
				}
			}
		}
		if !found {
			t.Fatal("no MTU option in the router advertisement")
		}
	}
}

// Config and the slirp:// VNL refuse MTUs out of range.
func TestMTUBounds(t *testing.T) {
	for _, mtu := range []int{MinMTU - 1, MaxMTU + 1} {
		if _, err := New(Config{MTU: mtu}); err == nil {
			t.Fatalf("MTU %d accepted", mtu)
		}
	}
	if _, err := Open("/mtu=100", vnl.Args{}); err == nil {
		t.Fatal("slirp:///mtu=100 accepted")
	}
}
