package main

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/govde/govde/transports/slirp"
)

func TestParseSlirpFlags(t *testing.T) {
	f, code := parseSlirpFlags("slirpvde", []string{"-D", "-H", "10.5.0.1/16", "-N", "10.5.0.53", "-L", "18022:10.5.0.15:22", "-U", "10.5.0.15:53", "-q", "-p", "/tmp/x.pid", "--dnsupstream", "127.0.0.1:5353", "/tmp/sw"})
	if f == nil {
		t.Fatalf("status %d", code)
	}
	if !f.cfg.DHCP || f.cfg.Host != netip.MustParsePrefix("10.5.0.1/16") || f.cfg.DNS != netip.MustParseAddr("10.5.0.53") ||
		len(f.cfg.TCPForwards) != 1 || f.cfg.TCPForwards[0].Listen != ":18022" || len(f.cfg.UDPForwards) != 1 ||
		f.cfg.UDPForwards[0].Listen != ":53" || !f.quiet || f.pidfile != "/tmp/x.pid" || f.cfg.DNSUpstream != "127.0.0.1:5353" || f.sock != "/tmp/sw" {
		t.Fatalf("%+v", f)
	}
	f, _ = parseSlirpFlags("slirpvde", []string{"--dhcp=10.0.2.100", "-sock", "vde:///tmp/s"})
	if f == nil || !f.cfg.DHCP || f.cfg.DHCPStart != netip.MustParseAddr("10.0.2.100") || f.sock != "vde:///tmp/s" {
		t.Fatalf("%+v", f)
	}
	// IPv6: a second -H and -N, router advertisements, forwards to IPv6
	// guests, the management socket.
	f, _ = parseSlirpFlags("slirpvde", []string{"-H", "10.0.2.2/24", "-H", "fd01::1/64", "-N", "fd01::53", "-r", "-L", "[::1]:8080:[fd01::15]:80",
		"-U", "5353:[fd01::15]:53", "-M", "/tmp/slirp.mgmt", "--mgmtmode", "660"})
	if f == nil || f.cfg.Host6 != netip.MustParsePrefix("fd01::1/64") || f.cfg.DNS6 != netip.MustParseAddr("fd01::53") || !f.cfg.RA ||
		f.cfg.TCPForwards[0].Listen != "[::1]:8080" || f.cfg.UDPForwards[0].Guest != netip.MustParseAddrPort("[fd01::15]:53") ||
		f.mgmt != "/tmp/slirp.mgmt" || f.mgmtMode != 0o660 {
		t.Fatalf("%+v", f)
	}
	f, _ = parseSlirpFlags("slirpvde", []string{"--radvd=fd02:0:0:1::/64"})
	if f == nil || !f.cfg.RA || f.cfg.Host6 != netip.MustParsePrefix("fd02:0:0:1::/64") {
		t.Fatalf("%+v", f)
	}
	f, _ = parseSlirpFlags("slirpvde", []string{"--mtu", "9000"})
	if f == nil || f.cfg.MTU != 9000 || f.args.MaxFrame != 9018 {
		t.Fatalf("--mtu 9000: %+v", f)
	}
	for _, bad := range [][]string{{"-L", "nope"}, {"-H", "x"}, {"-N", "y"}, {"--dhcp=z"}, {"-Z"}, {"-h"}, {"--maxflows", "0"}, {"--mtu", "100"}, {"--mtu", "70000"},
		{"--radvd=10.0.0.0/24"}, {"--radvd=fd00::/48"}, {"-L", "1:fd00::15:80"}} {
		if f, code := parseSlirpFlags("slirpvde", bad); f != nil || code != 255 {
			t.Errorf("%v: accepted", bad)
		}
	}
}

func TestSlirpBanner(t *testing.T) {
	f, _ := parseSlirpFlags("slirpvde", []string{"-D", "-r", "-L", "127.0.0.1:0:10.0.2.15:22", "--dnsupstream", "127.0.0.1:1", "-s", "/tmp/vt/S", "-M", "/tmp/vt/M"})
	f.cfg.Logf = t.Logf
	e, err := slirp.New(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	want := `Starting slirpvde: virtual_host=10.0.2.2/24
                   DNS         =10.0.2.3
                   dhcp_start  =10.0.2.15
                   vde switch  =/tmp/vt/S
                   redir TCP   =0:10.0.2.15:22
                   host6       =fd00::2/64
                   DNS6        =fd00::3
                   dhcp6_start =fd00::15
                   radvd       =fd00::/64
                   mgmt        =/tmp/vt/M
`
	if got := slirpBanner(f, e); got != want {
		t.Fatalf("banner\n%s\nwant\n%s", got, strings.TrimSpace(want))
	}
}
