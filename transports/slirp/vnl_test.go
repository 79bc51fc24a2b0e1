package slirp

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/govde/govde/transports/vnl"
)

func TestParseForward(t *testing.T) {
	for _, tc := range []struct{ in, listen, guest string }{
		{"10.0.2.15:22", ":22", "10.0.2.15:22"},
		{"18022:10.0.2.15:22", ":18022", "10.0.2.15:22"},
		{"127.0.0.1:18022:10.0.2.15:22", "127.0.0.1:18022", "10.0.2.15:22"},
	} {
		f, err := ParseForward(tc.in)
		if err != nil || f.Listen != tc.listen || f.Guest != netip.MustParseAddrPort(tc.guest) {
			t.Errorf("ParseForward(%q) = %+v, %v", tc.in, f, err)
		}
	}
	for _, tc := range []struct{ in, listen, guest string }{
		{"[fd00::15]:22", ":22", "[fd00::15]:22"},
		{"8022:[fd00::15]:22", ":8022", "[fd00::15]:22"},
		{"[::1]:8022:[fd00::15]:22", "[::1]:8022", "[fd00::15]:22"},
		{"[::1]:8022:10.0.2.15:22", "[::1]:8022", "10.0.2.15:22"},
	} {
		f, err := ParseForward(tc.in)
		if err != nil || f.Listen != tc.listen || f.Guest != netip.MustParseAddrPort(tc.guest) {
			t.Errorf("ParseForward(%q) = %+v, %v", tc.in, f, err)
		}
	}
	if s := (Forward{Listen: ":1", Guest: netip.MustParseAddrPort("[fd00::15]:22")}).String(); s != "1:[fd00::15]:22" {
		t.Errorf("String() = %q", s)
	}
	for _, bad := range []string{"[fd00::15:22", "1:[10.0.2.15]:2", "1:[::ffff:10.0.2.15]:2", "[[::1]]:1:10.0.2.15:2", "", "22", "x:10.0.2.15:22", "1:10.0.2.15:0", "1:fd00::1:22", "1:2:3:4:5", "70000:10.0.2.15:22"} {
		if _, err := ParseForward(bad); err == nil {
			t.Errorf("ParseForward(%q) accepted", bad)
		}
	}
	if s := (Forward{Listen: ":18022", Guest: netip.MustParseAddrPort("10.0.2.15:22")}).String(); s != "18022:10.0.2.15:22" {
		t.Errorf("String() = %q", s)
	}
}

func TestVNLOptions(t *testing.T) {
	_, opts, err := vnl.ParseSlash("/addr=192.168.7.1%2F16/dhcp=192.168.7.100/vnameserver=192.168.7.53/tcpfwd=8080:192.168.7.100:80/udpfwd=5353:192.168.7.100:53/tcpfwd=2222:192.168.7.100:22", vnlKeys)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := configFromOptions(opts)
	if err != nil {
		t.Fatal(err)
	}
	r, err := (&cfg).resolve()
	if err != nil {
		t.Fatal(err)
	}
	if r.host != netip.MustParseAddr("192.168.7.1") || r.prefix.Bits() != 16 || r.dns != netip.MustParseAddr("192.168.7.53") ||
		!cfg.DHCP || r.dhcpStart != netip.MustParseAddr("192.168.7.100") || len(cfg.TCPForwards) != 2 || len(cfg.UDPForwards) != 1 {
		t.Fatalf("config %+v resolved %+v", cfg, r)
	}
	for _, bad := range []string{"/addr=x", "/dhcp=y", "/vnameserver=z", "/tcpfwd=1", "/bogus=1"} {
		if _, err := Open(bad, vnl.Args{}); err == nil {
			t.Errorf("Open(%q) accepted", bad)
		}
	}
	_, opts, err = vnl.ParseSlash("/v6/ra/addr6=fd01::1%2F64/vnameserver6=fd01::53/tcpfwd=[::1]:8080:[fd01::15]:80", vnlKeys)
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err = configFromOptions(opts); err != nil {
		t.Fatal(err)
	}
	if r, err = (&cfg).resolve(); err != nil {
		t.Fatal(err)
	}
	if !cfg.RA || r.host6 != netip.MustParseAddr("fd01::1") || r.dns6 != netip.MustParseAddr("fd01::53") || r.dhcp6Start != netip.MustParseAddr("fd01::15") ||
		cfg.TCPForwards[0].Guest != netip.MustParseAddrPort("[fd01::15]:80") {
		t.Fatalf("config %+v resolved %+v", cfg, r)
	}
	for _, bad := range []string{"/addr6=10.0.0.1", "/vnameserver6=10.0.0.1"} {
		if _, err := Open(bad, vnl.Args{}); err == nil {
			t.Errorf("Open(%q) accepted", bad)
		}
	}
	e, err := Open("/v4/dnsupstream=127.0.0.1:1", vnl.Args{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if !strings.HasPrefix(e.Describe(), "slirp://") {
		t.Fatalf("Describe() = %q", e.Describe())
	}
}

func TestResolveDefaults(t *testing.T) {
	r, err := (&Config{Host: netip.MustParsePrefix("10.1.0.0/24"), DNSUpstream: "x:53"}).resolve()
	if err != nil || r.host != netip.MustParseAddr("10.1.0.2") || r.dns != netip.MustParseAddr("10.1.0.3") || r.dhcpStart != netip.MustParseAddr("10.1.0.15") {
		t.Fatalf("%+v %v", r, err)
	}
	if _, err := (&Config{Host: netip.MustParsePrefix("fd00::2/64")}).resolve(); err == nil {
		t.Fatal("IPv6 host accepted as the IPv4 gateway")
	}
	r, err = (&Config{Host6: netip.MustParsePrefix("fd07:1:2:3::/64"), DNSUpstream: "x:53"}).resolve()
	if err != nil || r.host6 != netip.MustParseAddr("fd07:1:2:3::2") || r.dns6 != netip.MustParseAddr("fd07:1:2:3::3") || r.ll6 != netip.MustParseAddr("fe80::2") {
		t.Fatalf("%+v %v", r, err)
	}
	for _, bad := range []string{"fd00::2/48", "fe80::2/64", "10.0.2.2/24", "::ffff:10.0.2.2/64"} {
		if _, err := (&Config{Host6: netip.MustParsePrefix(bad)}).resolve(); err == nil {
			t.Errorf("Host6 %s accepted", bad)
		}
	}
}
