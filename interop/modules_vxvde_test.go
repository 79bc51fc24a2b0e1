package interop

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

// vxWaitBound waits until the process pid has a UDP socket bound to port
// (its namespace's /proc/net/udp or udp6).
func vxWaitBound(t *testing.T, pid, port int) {
	t.Helper()
	hex := fmt.Sprintf(":%04X ", port)
	waitFor(t, func() bool {
		for _, f := range []string{"udp", "udp6"} {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, f))
			if strings.Contains(string(b), hex) {
				return true
			}
		}
		return false
	}, fmt.Sprintf("pid %d bound to UDP port %d", pid, port))
}

// vxMember starts a vde_plug (ours or real) on vnl inside ns, in stream
// mode, and waits until it listens on port.
func vxMember(t *testing.T, ns, exe, vnl string, port int) *plug {
	t.Helper()
	p := startPlug(t, "ip", "netns", "exec", ns, exe, vnl)
	vxWaitBound(t, p.cmd.Process.Pid, port)
	return p
}

// Three members of one vxvde LAN, one of them the real vde_plug, each in a
// namespace on a bridge: broadcasts reach everybody else, unicast goes to
// the owner only, to the (address, uniport) learned; the wire carries the
// RFC 7348 header with TTL 1; the goodbye of a leaver makes the others
// (ours and the real one) forget it; another VNI is isolated.
func TestVxvdeThreeMembers(t *testing.T) {
	tapNeedNetns(t)
	vp := real(t, "vde_plug")
	ns := []string{tapNetns(t), tapNetns(t), tapNetns(t)}
	vxLAN(t, ns, [][]string{{"10.9.0.1/24"}, {"10.9.0.2/24"}, {"10.9.0.3/24"}})
	capA, capB, capC := vxCaptureOn(t, ns[0], "vx0"), vxCaptureOn(t, ns[1], "vx1"), vxCaptureOn(t, ns[2], "vx2")
	a := vxMember(t, ns[0], bin("vde_plug"), "vxvde://", 14789)
	b := vxMember(t, ns[1], vp, "vxvde://", 14789)
	c := vxMember(t, ns[2], bin("vde_plug"), "vxvde://", 14789)
	A, B, C := mac(0xa), mac(0xb), mac(0xc)
	group := netip.MustParseAddrPort("239.0.0.1:14789")

	f1 := eth(bcast, A, "A says hello")
	a.send(t, f1)
	b.expect(t, "real B", f1)
	c.expect(t, "C", f1)
	a.quiet(t, "A (its own multicast)")
	d1, ok := capA.find(time.Second, vxWithFrame(f1))
	if !ok {
		t.Fatalf("A's broadcast not on the wire:\n%s", capA.dump())
	}
	uniA := d1.Src.Port()
	if d1.Dst != group || d1.Src.Addr() != netip.MustParseAddr("10.9.0.1") || uniA == 14789 || d1.TTL != 1 ||
		!bytes.Equal(d1.Payload, vxFrame(1, f1)) {
		t.Fatalf("A's broadcast: %v payload % x", d1, d1.Payload[:8])
	}

	f2 := eth(bcast, B, "B says hello")
	b.send(t, f2)
	a.expect(t, "A", f2)
	c.expect(t, "C", f2)
	d2, ok := capB.find(time.Second, vxWithFrame(f2))
	if !ok {
		t.Fatalf("B's broadcast not on the wire:\n%s", capB.dump())
	}
	uniB := d2.Src.Port()

	f3 := eth(bcast, C, "C says hello")
	c.send(t, f3)
	a.expect(t, "A", f3)
	b.expect(t, "real B", f3)

	// Unicast after learning, to the owner's address and uniport.
	f4 := eth(A, B, "B to A")
	b.send(t, f4)
	a.expect(t, "A", f4)
	c.quiet(t, "C (B to A)")
	if d, ok := capB.find(time.Second, vxWithFrame(f4)); !ok || d.Dst != netip.AddrPortFrom(netip.MustParseAddr("10.9.0.1"), uniA) {
		t.Fatalf("real B to A went to %v, want 10.9.0.1:%d (A's uniport)", d.Dst, uniA)
	}
	f5 := eth(B, A, "A to B")
	a.send(t, f5)
	b.expect(t, "real B", f5)
	c.quiet(t, "C (A to B)")
	if d, ok := capA.find(time.Second, vxWithFrame(f5)); !ok || d.Dst != netip.AddrPortFrom(netip.MustParseAddr("10.9.0.2"), uniB) || d.Src.Port() != uniA {
		t.Fatalf("A to real B: %v, want from port %d to 10.9.0.2:%d (B's uniport)", d, uniA, uniB)
	}
	f6 := eth(A, C, "C to A")
	c.send(t, f6)
	a.expect(t, "A", f6)
	b.quiet(t, "real B (C to A)")

	// A leaves: its goodbye (the header alone) makes B and C forget it, so
	// frames for A go to the group again.
	a.stdin.Close()
	if code := a.Wait(t, 5*time.Second); code != 0 {
		t.Fatalf("A exit %d: %s", code, a.stderr)
	}
	if d, ok := capA.find(time.Second, func(d vxDatagram) bool { return len(d.Payload) == 8 }); !ok ||
		d.Src.Port() != uniA || d.Dst != group || !bytes.Equal(d.Payload, vxFrame(1, nil)) {
		t.Fatalf("goodbye: %v %v\n%s", d, ok, capA.dump())
	}
	f7 := eth(A, B, "B to the departed A")
	b.send(t, f7)
	c.expect(t, "C (flooded after the goodbye)", f7)
	if d, ok := capB.find(time.Second, vxWithFrame(f7)); !ok || d.Dst != group {
		t.Fatalf("real B still sends to A by unicast after A's goodbye: %v", d)
	}
	f8 := eth(A, C, "C to the departed A")
	c.send(t, f8)
	b.expect(t, "real B (flooded after the goodbye)", f8)
	if d, ok := capC.find(time.Second, vxWithFrame(f8)); !ok || d.Dst != group {
		t.Fatalf("C still sends to A by unicast after A's goodbye: %v", d)
	}
	// The real B leaves: we take its goodbye too.
	b.stdin.Close()
	b.Wait(t, 5*time.Second)
	if _, ok := capC.find(2*time.Second, func(d vxDatagram) bool { return len(d.Payload) == 8 && d.Src.Port() == uniB }); !ok {
		t.Fatalf("no goodbye from the real B:\n%s", capC.dump())
	}
	f9 := eth(B, C, "C to the departed B")
	c.send(t, f9)
	if d, ok := capC.find(time.Second, vxWithFrame(f9)); !ok || d.Dst != group {
		t.Fatalf("C still sends to B by unicast after B's goodbye: %v", d)
	}

	// VNI 42 is another LAN on the same group.
	a42 := vxMember(t, ns[0], bin("vde_plug"), "vxvde:///vni=42", 14789)
	b42 := startPlug(t, "ip", "netns", "exec", ns[1], vp, "vxvde:///vni=42")
	time.Sleep(200 * time.Millisecond)
	f10 := eth(bcast, mac(0x42), "on VNI 42")
	a42.send(t, f10)
	b42.expect(t, "real B on VNI 42", f10)
	c.quiet(t, "C on VNI 1")
	if d, ok := capA.find(time.Second, vxWithFrame(f10)); !ok || !bytes.Equal(d.Payload[:8], []byte{8, 0, 0, 0, 0, 0, 42, 0}) {
		t.Fatalf("VNI 42 header: %v", d)
	}
	f11 := eth(bcast, mac(0x43), "real on VNI 42")
	b42.send(t, f11)
	a42.expect(t, "A on VNI 42", f11)
	c.quiet(t, "C on VNI 1")
	f12 := eth(bcast, C, "VNI 1 again")
	c.send(t, f12)
	a42.quiet(t, "A on VNI 42")
	b42.quiet(t, "real B on VNI 42")
}

// vxvde over IPv6 (the v6 option: group ff05:56de::1), ours and the real
// one in two namespaces.
func TestVxvdeV6(t *testing.T) {
	tapNeedNetns(t)
	vp := real(t, "vde_plug")
	ns := []string{tapNetns(t), tapNetns(t)}
	vxLAN(t, ns, [][]string{{"fd09::1/64"}, {"fd09::2/64"}})
	capA := vxCaptureOn(t, ns[0], "vx0")
	a := vxMember(t, ns[0], bin("vde_plug"), "vxvde:///v6", 14789)
	b := vxMember(t, ns[1], vp, "vxvde:///v6", 14789)
	A, B := mac(0xa), mac(0xb)
	f1 := eth(bcast, A, "v6 hello from ours")
	a.send(t, f1)
	b.expect(t, "real", f1)
	a.quiet(t, "ours (own multicast)")
	d, ok := capA.find(time.Second, vxWithFrame(f1))
	if !ok || d.Dst != netip.MustParseAddrPort("[ff05:56de::1]:14789") || d.Src.Addr() != netip.MustParseAddr("fd09::1") || d.TTL != 1 {
		t.Fatalf("v6 broadcast: %v %v\n%s", d, ok, capA.dump())
	}
	f2 := eth(A, B, "v6 unicast from the real one")
	b.send(t, f2)
	a.expect(t, "ours", f2)
	f3 := eth(B, A, "v6 unicast from ours")
	a.send(t, f3)
	b.expect(t, "real", f3)
	if d, ok := capA.find(time.Second, vxWithFrame(f3)); !ok || d.Dst.Addr() != netip.MustParseAddr("fd09::2") {
		t.Fatalf("v6 unicast went to %v", d.Dst)
	}
}

// Unlike the real vxvde, ours hears datagrams sent to its address at the
// port and answers at that port: a Linux vxlan device (dstport 14789)
// pointed at it by unicast ("remote"), or sending to the group from source
// port 14789, reaches a tap behind our vxvde, and pings cross both ways.
func TestVxvdeAnswersKernel(t *testing.T) {
	tapNeedNetns(t)
	vp := real(t, "vde_plug")
	for _, kv := range []struct {
		name string
		args []string
	}{
		{"remote", []string{"remote", "10.9.0.1"}},
		{"group", []string{"group", "239.0.0.1", "dev", "vx0", "srcport", "14789", "14790"}},
	} {
		t.Run(kv.name, func(t *testing.T) {
			nsA, nsK := tapNetns(t), tapNetns(t)
			vxPair(t, nsA, nsK, "10.9.0.1/24", "10.9.0.2/24")
			tapIP(t, append(append([]string{"-n", nsK, "link", "add", "vxk", "type", "vxlan", "id", "1"}, kv.args...), "dstport", "14789", "ttl", "1")...)
			tapIP(t, "-n", nsK, "addr", "add", "192.168.77.2/24", "dev", "vxk")
			tapIP(t, "-n", nsK, "link", "set", "vxk", "up")
			dir := t.TempDir() + "/hub"
			tapInNetns(t, nsA, vp, "tap://tap0", "hub://"+dir)
			waitFor(t, func() bool { _, err := os.Stat(dir + "/ctl"); return err == nil }, "the real hub")
			tapAddr(t, nsA, "tap0", "192.168.77.1/24", 1400)
			tapInNetns(t, nsA, bin("vde_plug"), "vxvde://", dir)
			if got := tapPing(t, nsK, "192.168.77.1", 84, 3); got != 3 {
				t.Fatalf("kernel to tap behind our vxvde: %d of 3 replies", got)
			}
			if got := tapPing(t, nsA, "192.168.77.2", 84, 3); got != 3 {
				t.Fatalf("tap behind our vxvde to the kernel: %d of 3 replies", got)
			}
		})
	}
}
