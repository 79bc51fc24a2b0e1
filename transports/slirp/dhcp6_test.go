package slirp

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

var (
	clientLL      = netip.MustParseAddr("fe80::5054:ff:fe12:3456")
	allDHCP6Agent = netip.MustParseAddr("ff02::1:2")
)

// dhcp6Client builds a client message: type, transaction 0x123456, the
// client DUID, then extra options (code, value) pairs.
func dhcp6Client(typ byte, duid []byte, opts ...any) []byte {
	m := []byte{typ, 0x12, 0x34, 0x56}
	m = appendOpt6(m, opt6ElapsedTime, []byte{0, 0})
	if duid != nil {
		m = appendOpt6(m, opt6ClientID, duid)
	}
	for i := 0; i+1 < len(opts); i += 2 {
		m = appendOpt6(m, uint16(opts[i].(int)), opts[i+1].([]byte))
	}
	return m
}

const opt6ElapsedTime = 8

// iaNA builds an IA_NA option value with IAID 7 (and an address, if valid).
func iaNA(a netip.Addr) []byte {
	v := []byte{0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0}
	if a.IsValid() {
		b := a.As16()
		v = appendOpt6(v, opt6IAAddr, append(b[:], 0, 0, 0, 0, 0, 0, 0, 0))
	}
	return v
}

// exchange6 sends the DHCPv6 message m from the client and returns the
// server's answer (type and options by code), or fails.
func exchange6(t *testing.T, e *Endpoint, m []byte) (byte, map[uint16][]byte) {
	t.Helper()
	f := frame6(multicastMAC6(allDHCP6Agent), clientMAC[:], clientLL, allDHCP6Agent, protoUDP, 1, udpDatagram(dhcp6ClientPort, dhcp6ServerPort, m), 6)
	send(t, e, append([]byte(nil), f.Bytes()...))
	f.Release()
	p := recv(t, e, isV6From(ll6, protoUDP))
	if string(p[0:6]) != string(clientMAC[:]) || netip.AddrFrom16([16]byte(p[38:54])) != clientLL {
		t.Fatalf("reply addressed to %x %v", p[0:6], netip.AddrFrom16([16]byte(p[38:54])))
	}
	checkTransport6(t, p)
	u := p[54:]
	if binary.BigEndian.Uint16(u[0:]) != dhcp6ServerPort || binary.BigEndian.Uint16(u[2:]) != dhcp6ClientPort {
		t.Fatalf("ports %x", u[:4])
	}
	r := u[8:]
	if string(r[1:4]) != "\x12\x34\x56" {
		t.Fatalf("transaction id %x", r[1:4])
	}
	opts := map[uint16][]byte{}
	for o := r[4:]; len(o) > 0; {
		if len(o) < 4 || len(o) < 4+int(binary.BigEndian.Uint16(o[2:])) {
			t.Fatalf("malformed options %x", r)
		}
		n := int(binary.BigEndian.Uint16(o[2:]))
		opts[binary.BigEndian.Uint16(o)] = o[4 : 4+n]
		o = o[4+n:]
	}
	return r[0], opts
}

// iaAddress returns the address of an IA_NA option value, or its status.
func iaAddress(t *testing.T, ia []byte) (netip.Addr, uint16) {
	t.Helper()
	if len(ia) < 12 || binary.BigEndian.Uint32(ia) != 7 {
		t.Fatalf("IA_NA %x", ia)
	}
	for o := ia[12:]; len(o) >= 4; o = o[4+int(binary.BigEndian.Uint16(o[2:])):] {
		switch binary.BigEndian.Uint16(o) {
		case opt6IAAddr:
			if valid := binary.BigEndian.Uint32(o[4+20:]); valid != LeaseSeconds {
				t.Fatalf("valid lifetime %d", valid)
			}
			return netip.AddrFrom16([16]byte(o[4:20])), 0
		case opt6StatusCode:
			return netip.Addr{}, binary.BigEndian.Uint16(o[4:])
		}
	}
	t.Fatalf("IA_NA without address or status: %x", ia)
	return netip.Addr{}, 0
}

func TestDHCPv6InformationRequest(t *testing.T) {
	e := newSlirp(t, Config{DHCP: true, DNSUpstream: "127.0.0.1:1"})
	typ, opts := exchange6(t, e, dhcp6Client(dhcp6InfoRequest, []byte{0, 3, 0, 1, 1, 2, 3, 4, 5, 6}))
	if typ != dhcp6Reply {
		t.Fatalf("type %d", typ)
	}
	if d := opts[opt6DNSServers]; len(d) != 16 || netip.AddrFrom16([16]byte(d)) != dns6Addr {
		t.Fatalf("DNS servers %x", d)
	}
	m := GatewayMAC(gw)
	if sid := opts[opt6ServerID]; string(sid) != "\x00\x03\x00\x01"+string(m[:]) {
		t.Fatalf("server DUID %x", sid)
	}
	if string(opts[opt6ClientID]) != "\x00\x03\x00\x01\x01\x02\x03\x04\x05\x06" {
		t.Fatalf("client DUID %x", opts[opt6ClientID])
	}
	// Without an identifier too (RFC 8415 allows it for information requests).
	if typ, opts := exchange6(t, e, dhcp6Client(dhcp6InfoRequest, nil)); typ != dhcp6Reply || opts[opt6DNSServers] == nil {
		t.Fatalf("anonymous information request: %d %v", typ, opts)
	}
}

func TestDHCPv6StatefulAddresses(t *testing.T) {
	e := newSlirp(t, Config{DHCP: true, DNSUpstream: "127.0.0.1:1"})
	duid1 := []byte{0, 3, 0, 1, 1, 1, 1, 1, 1, 1}
	duid2 := []byte{0, 3, 0, 1, 2, 2, 2, 2, 2, 2}
	typ, opts := exchange6(t, e, dhcp6Client(dhcp6Solicit, duid1, opt6IANA, iaNA(netip.Addr{})))
	if typ != dhcp6Advertise {
		t.Fatalf("solicit answered with %d", typ)
	}
	a, _ := iaAddress(t, opts[opt6IANA])
	if a != guest6IP {
		t.Fatalf("advertised %v, want %v", a, guest6IP)
	}
	sid := opts[opt6ServerID]
	// A request with another server's identifier is not for us.
	f := frame6(multicastMAC6(allDHCP6Agent), clientMAC[:], clientLL, allDHCP6Agent, protoUDP, 1,
		udpDatagram(dhcp6ClientPort, dhcp6ServerPort, dhcp6Client(dhcp6Request, duid1, opt6ServerID, []byte{0, 3, 0, 1, 9, 9, 9, 9, 9, 9}, opt6IANA, iaNA(a))), 6)
	send(t, e, append([]byte(nil), f.Bytes()...))
	f.Release()
	typ, opts = exchange6(t, e, dhcp6Client(dhcp6Request, duid1, opt6ServerID, sid, opt6IANA, iaNA(a)))
	if got, _ := iaAddress(t, opts[opt6IANA]); typ != dhcp6Reply || got != guest6IP || opts[opt6DNSServers] == nil {
		t.Fatalf("request: type %d address %v", typ, got)
	}
	// A second client gets the next address, at once with rapid commit.
	typ, opts = exchange6(t, e, dhcp6Client(dhcp6Solicit, duid2, opt6RapidCommit, []byte{}, opt6IANA, iaNA(netip.Addr{})))
	if got, _ := iaAddress(t, opts[opt6IANA]); typ != dhcp6Reply || got != netip.MustParseAddr("fd00::16") || opts[opt6RapidCommit] == nil {
		t.Fatalf("rapid commit: type %d address %v", typ, got)
	}
	// Renewing keeps the address; confirm checks the link.
	if _, opts = exchange6(t, e, dhcp6Client(dhcp6Renew, duid1, opt6ServerID, sid, opt6IANA, iaNA(a))); true {
		if got, _ := iaAddress(t, opts[opt6IANA]); got != guest6IP {
			t.Fatalf("renew: %v", got)
		}
	}
	_, opts = exchange6(t, e, dhcp6Client(dhcp6Confirm, duid1, opt6IANA, iaNA(netip.MustParseAddr("2001:db8::1"))))
	if st := opts[opt6StatusCode]; len(st) < 2 || binary.BigEndian.Uint16(st) != status6NotOnLink {
		t.Fatalf("confirm off-link: status %x", st)
	}
	// Released, the first address goes to the next new client.
	_, opts = exchange6(t, e, dhcp6Client(dhcp6Release, duid1, opt6ServerID, sid, opt6IANA, iaNA(a)))
	if st := opts[opt6StatusCode]; len(st) < 2 || binary.BigEndian.Uint16(st) != status6Success {
		t.Fatalf("release: status %x", st)
	}
	_, opts = exchange6(t, e, dhcp6Client(dhcp6Solicit, []byte{0, 3, 0, 1, 3, 3, 3, 3, 3, 3}, opt6RapidCommit, []byte{}, opt6IANA, iaNA(netip.Addr{})))
	if got, _ := iaAddress(t, opts[opt6IANA]); got != guest6IP {
		t.Fatalf("after release: %v", got)
	}
}

func TestDHCPv6PoolExhausted(t *testing.T) {
	e := newSlirp(t, Config{DHCP: true, DNSUpstream: "127.0.0.1:1"})
	for i := 0; i <= dhcp6Slots; i++ {
		_, opts := exchange6(t, e, dhcp6Client(dhcp6Solicit, []byte{0, 3, 0, 1, 4, 4, 4, 4, 4, byte(i)}, opt6RapidCommit, []byte{}, opt6IANA, iaNA(netip.Addr{})))
		a, st := iaAddress(t, opts[opt6IANA])
		if i < dhcp6Slots && a != addN6(guest6IP, uint32(i)) {
			t.Fatalf("client %d: %v", i, a)
		}
		if i == dhcp6Slots && st != status6NoAddrs {
			t.Fatalf("client beyond the pool: %v status %d", a, st)
		}
	}
}

func TestParseDHCP6Malformed(t *testing.T) {
	for _, m := range [][]byte{{}, {1, 2, 3}, {1, 0, 0, 0, 0, 1, 0, 9, 1}, {1, 0, 0, 0, 0, 3, 0, 4, 1, 2, 3, 4}} {
		if _, ok := parseDHCP6(m); ok {
			t.Errorf("%x accepted", m)
		}
	}
	d, ok := parseDHCP6(dhcp6Client(dhcp6Solicit, []byte{9}, opt6IANA, iaNA(guest6IP), opt6RapidCommit, []byte{}))
	if !ok || d.typ != dhcp6Solicit || string(d.clientID) != "\x09" || d.iaAddr != guest6IP || !d.rapid || string(d.iaid) != "\x00\x00\x00\x07" {
		t.Fatalf("%+v %v", d, ok)
	}
}

// Without -D nothing answers DHCPv6.
func TestDHCPv6Off(t *testing.T) {
	e := newSlirp(t, Config{DNSUpstream: "127.0.0.1:1"})
	f := frame6(multicastMAC6(allDHCP6Agent), clientMAC[:], clientLL, allDHCP6Agent, protoUDP, 1, udpDatagram(dhcp6ClientPort, dhcp6ServerPort, dhcp6Client(dhcp6InfoRequest, nil)), 6)
	send(t, e, append([]byte(nil), f.Bytes()...))
	f.Release()
	select {
	case f := <-e.out:
		t.Fatalf("answered: %x", f.Bytes())
	default:
	}
}
