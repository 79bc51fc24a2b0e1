package slirp

import (
	"encoding/binary"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// needICMP fails (CI=true) or skips the test when this process can open
// no ICMP socket (neither ping_group_range nor CAP_NET_RAW allow it).
func needICMP(t *testing.T) {
	t.Helper()
	for _, a := range []string{"127.0.0.1", "::1"} {
		c, _, err := dialICMP(netip.MustParseAddr(a), false)
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("no ICMP socket to %s: %v (run as root or widen net.ipv4.ping_group_range)", a, err)
			}
			t.Skipf("no ICMP socket to %s: %v", a, err)
		}
		c.Close()
	}
}

// echo builds an ICMP (v6: ICMPv6) echo request body.
func echo(v6 bool, id, seq uint16, data string) []byte {
	m := make([]byte, 8, 8+len(data))
	m[0] = 8
	if v6 {
		m[0] = 128
	}
	binary.BigEndian.PutUint16(m[4:], id)
	binary.BigEndian.PutUint16(m[6:], seq)
	return append(m, data...)
}

// guestV4Packet builds a guest's IPv4 frame to the router.
func guestV4Packet(src, dst netip.Addr, proto byte, payload []byte, csumOff int) []byte {
	m := GatewayMAC(gw)
	f := frame4(m[:], clientMAC[:], src, dst, proto, payload, csumOff)
	defer f.Release()
	return append([]byte(nil), f.Bytes()...)
}

// isV4From matches IPv4 frames with source src and protocol proto.
func isV4From(src netip.Addr, proto byte) func([]byte) bool {
	return func(p []byte) bool {
		return len(p) >= 34 && p[12] == 0x08 && p[13] == 0 && p[23] == proto && netip.AddrFrom4([4]byte(p[26:30])) == src
	}
}

// checkEchoReply checks an echo reply frame (IPv4 or IPv6) to the guest.
func checkEchoReply(t *testing.T, p []byte, v6 bool, id, seq uint16, data string) {
	t.Helper()
	var m []byte
	if v6 {
		checkTransport6(t, p)
		m = p[14+40:]
		if m[0] != 129 {
			t.Fatalf("type %d", m[0])
		}
	} else {
		ip := header.IPv4(p[14:])
		if !ip.IsChecksumValid() {
			t.Fatal("bad IPv4 header checksum")
		}
		m = ip.Payload()
		if m[0] != 0 || checksumFold(checksumAdd(0, m)) != 0 {
			t.Fatalf("type %d or bad checksum: %x", m[0], m)
		}
	}
	if binary.BigEndian.Uint16(m[4:]) != id || binary.BigEndian.Uint16(m[6:]) != seq || string(m[8:]) != data {
		t.Fatalf("reply id %d seq %d data %q, want %d %d %q", binary.BigEndian.Uint16(m[4:]), binary.BigEndian.Uint16(m[6:]), m[8:], id, seq, data)
	}
}

// Echo requests to outside addresses are answered by real pings from the
// host: 127.0.0.1 directly, and through ::ffff:0:0/96 and 64:ff9b::/96
// from an IPv6 guest; each association is a flow that idles out.
func TestICMPEchoNAT(t *testing.T) {
	needICMP(t)
	e := newSlirp(t, Config{DNSUpstream: "127.0.0.1:1", ICMPIdle: 300 * time.Millisecond})
	lo := netip.MustParseAddr("127.0.0.1")
	for seq := uint16(1); seq <= 3; seq++ {
		send(t, e, guestV4Packet(guestIP, lo, protoICMP, echo(false, 0x4242, seq, "govde v4"), 2))
		checkEchoReply(t, recv(t, e, isV4From(lo, protoICMP)), false, 0x4242, seq, "govde v4")
	}
	if n := e.Flows(); n != 1 {
		t.Fatalf("%d flows, want 1 echo association", n)
	}
	for _, d := range []string{"::ffff:127.0.0.1", "64:ff9b::127.0.0.1", "64:ff9b::10.0.2.2"} {
		dst := netip.MustParseAddr(d)
		send(t, e, guestV6Packet(guest6IP, dst, protoICMP6, echo(true, 0x0606, 9, "govde v6"), 2))
		checkEchoReply(t, recv(t, e, isV6From(dst, protoICMP6)), true, 0x0606, 9, "govde v6")
	}
	if os.Getenv("SLIRP_WANT_PING_SOCKETS") != "" && e.echo.mode.Load() != 1 {
		t.Fatal("raw sockets used where ping sockets are allowed")
	}
	waitFlows(t, e, 0)
	if e.echo.requests.Load() != 6 || e.echo.replies.Load() != 6 {
		t.Fatalf("requests %d replies %d", e.echo.requests.Load(), e.echo.replies.Load())
	}
}

// Echo requests to the router's own addresses are answered by the stack,
// not relayed; those to other guests of the network are not answered.
func TestICMPEchoToGatewayIsLocal(t *testing.T) {
	e := newSlirp(t, Config{DNSUpstream: "127.0.0.1:1"})
	introduceGuest6(t, e)
	send(t, e, guestV6Packet(guest6IP, gw6, protoICMP6, echo(true, 1, 1, "gw"), 2))
	checkEchoReply(t, recv(t, e, isV6From(gw6, protoICMP6)), true, 1, 1, "gw")
	send(t, e, guestV6Packet(guest6IP, netip.MustParseAddr("fd00::99"), protoICMP6, echo(true, 1, 2, "other"), 2))
	send(t, e, guestV4Packet(guestIP, netip.MustParseAddr("10.0.2.99"), protoICMP, echo(false, 1, 3, "other"), 2))
	time.Sleep(50 * time.Millisecond)
	if e.echo.requests.Load() != 0 || e.Flows() != 0 {
		t.Fatalf("relayed: %d requests, %d flows", e.echo.requests.Load(), e.Flows())
	}
}

// Echo associations count against the flow limit like connections.
func TestICMPEchoFlowLimit(t *testing.T) {
	needICMP(t)
	logs := make(chan string, 10)
	e := newSlirp(t, Config{DNSUpstream: "127.0.0.1:1", MaxFlows: 1, Logf: func(f string, a ...any) { logs <- f }})
	lo := netip.MustParseAddr("127.0.0.1")
	send(t, e, guestV4Packet(guestIP, lo, protoICMP, echo(false, 1, 1, "a"), 2))
	recv(t, e, isV4From(lo, protoICMP))
	send(t, e, guestV4Packet(guestIP, lo, protoICMP, echo(false, 2, 1, "b"), 2))
	if e.flows.refused.Load() != 1 || e.Flows() != 1 {
		t.Fatalf("refused %d, flows %d", e.flows.refused.Load(), e.Flows())
	}
	if len(logs) != 1 {
		t.Fatalf("%d log lines", len(logs))
	}
}

// The unprivileged path: TestICMPEchoNAT again in a private network
// namespace (unshare -n, made and dropped with the child) whose
// net.ipv4.ping_group_range admits every group, where the router must use
// ICMP datagram ("ping") sockets rather than raw ones. The host's own
// ping_group_range is not touched. Needs root for the namespace.
func TestICMPEchoNATWithPingSockets(t *testing.T) {
	if os.Getenv("SLIRP_WANT_PING_SOCKETS") != "" {
		t.Skip("inside the namespace already")
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root (a network namespace)")
		}
		t.Skip("needs root (a network namespace)")
	}
	for _, tool := range []string{"unshare", "ip", "sysctl"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not installed", tool)
			}
			t.Skipf("%s not installed", tool)
		}
	}
	cmd := exec.Command("unshare", "--net", "sh", "-c",
		`ip link set lo up && sysctl -qw net.ipv4.ping_group_range="0 2147483647" && exec "$0" -test.run '^TestICMPEchoNAT$' -test.count 1 -test.v`,
		os.Args[0])
	cmd.Env = append(os.Environ(), "SLIRP_WANT_PING_SOCKETS=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestICMPEchoNAT") {
		t.Fatalf("%v: %s", err, out)
	}
}
