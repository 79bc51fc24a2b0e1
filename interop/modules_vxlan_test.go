package interop

import (
	"net/netip"
	"os"
	"testing"
	"time"
)

// Our vxlan:// against the Linux kernel's vxlan device (spec §9.7): the
// kernel device in one namespace, our vde_plug vxlan:// joined to a real
// vde_plug tap:// (through the real hub netnode) in the other; pings
// cross both ways, which needs correct learning (the real plug loses every
// unicast frame, spec §2.7); everything we send leaves from port 4789, by
// unicast to the kernel once learned; a second vxlan:// in the namespace
// fails with one clear line; jumbo frames cross when both sides allow them.
func TestVxlanKernel(t *testing.T) {
	tapNeedNetns(t)
	vp := real(t, "vde_plug")
	nsA, nsK := tapNetns(t), tapNetns(t)
	vxPair(t, nsA, nsK, "10.9.0.1/24", "10.9.0.2/24")
	tapIP(t, "-n", nsK, "link", "add", "vxk", "type", "vxlan", "id", "1", "group", "239.0.0.1", "dev", "vx0", "dstport", "4789", "ttl", "1")
	tapIP(t, "-n", nsK, "addr", "add", "192.168.77.2/24", "dev", "vxk")
	tapIP(t, "-n", nsK, "link", "set", "vxk", "up")
	capA := vxCaptureOn(t, nsA, "vx0")
	dir := t.TempDir() + "/hub"
	tapInNetns(t, nsA, vp, "tap://tap0", "hub://"+dir)
	waitFor(t, func() bool { _, err := os.Stat(dir + "/ctl"); return err == nil }, "the real hub")
	tapAddr(t, nsA, "tap0", "192.168.77.1/24", 1400)
	ours := tapInNetns(t, nsA, bin("vde_plug"), "--maxframe", "9234", "vxlan://", dir)
	vxWaitBound(t, ours.cmd.Process.Pid, 4789)

	if got := tapPing(t, nsA, "192.168.77.2", 84, 3); got != 3 {
		t.Fatalf("tap to the kernel's vxlan: %d of 3 replies\n%s", got, capA.dump())
	}
	if got := tapPing(t, nsK, "192.168.77.1", 84, 3); got != 3 {
		t.Fatalf("kernel's vxlan to the tap: %d of 3 replies", got)
	}
	us := netip.MustParseAddr("10.9.0.1")
	if d, ok := capA.find(time.Second, func(d vxDatagram) bool { return d.Src.Addr() == us && d.Dst.Addr().IsMulticast() }); !ok ||
		d.Src.Port() != 4789 || d.Dst != netip.MustParseAddrPort("239.0.0.1:4789") || d.TTL != 1 || d.Payload[0] != 8 || d.Payload[6] != 1 {
		t.Fatalf("our multicast (ARP): %v\n%s", d, capA.dump())
	}
	// After learning, the kernel's MAC is reached by unicast to its port:
	// the 6 echo requests and replies we sent (the capture may lag).
	unicast := 0
	deadline := time.Now().Add(2 * time.Second)
	for unicast < 6 && time.Now().Before(deadline) {
		unicast = 0
		capA.find(0, func(d vxDatagram) bool {
			if d.Src == netip.MustParseAddrPort("10.9.0.1:4789") && d.Dst == netip.MustParseAddrPort("10.9.0.2:4789") {
				unicast++
			}
			return false
		})
		time.Sleep(20 * time.Millisecond)
	}
	if unicast < 6 {
		t.Fatalf("%d unicast datagrams to the kernel, want the 6 echo messages by unicast:\n%s", unicast, capA.dump())
	}
	capA.find(0, func(d vxDatagram) bool {
		if d.Src.Addr() == us && d.Src.Port() != 4789 {
			t.Errorf("sent from port %d: %v", d.Src.Port(), d)
		}
		return false
	})

	// One vxlan:// per port and namespace, as the original (which says
	// "Network is unreachable"); ours names the port and the reason.
	oneLine(t, []string{"ip", "netns", "exec", nsA, bin("vde_plug"), "vxlan://"},
		"vde_open vxlan://: ", "vxlan: bind 0.0.0.0:4789: Address already in use")

	// Jumbo frames: 8000-byte pings (the kernel's device needs a lower
	// device with room for them and its 50 bytes of headers).
	tapIP(t, "-n", nsA, "link", "set", "vx0", "mtu", "9100")
	tapIP(t, "-n", nsK, "link", "set", "vx0", "mtu", "9100")
	tapIP(t, "-n", nsK, "link", "set", "vxk", "mtu", "9000")
	tapMTU(t, nsA, "tap0", 9000)
	if got := tapPing(t, nsA, "192.168.77.2", 8000, 3); got != 3 {
		t.Fatalf("8000-byte pings to the kernel: %d of 3 replies", got)
	}
	if got := tapPing(t, nsK, "192.168.77.1", 8000, 3); got != 3 {
		t.Fatalf("8000-byte pings from the kernel: %d of 3 replies", got)
	}
}

// Bad vxlan:// and vxvde:// VNLs: one line naming the VNL and the
// problem, exit 1, before any socket is opened.
func TestVxBadVNLs(t *testing.T) {
	vp := bin("vde_plug")
	for _, c := range []struct {
		vnl  string
		want []string
	}{
		{"vxlan:///foo=1", []string{`vxlan: unknown option "foo" (known: port, vni, ttl`}},
		{"vxlan:///vni=abc", []string{`vxlan: option vni="abc": want a number from 0 to 16777215`}},
		{"vxlan:///port=0", []string{`vxlan: option port="0": want a UDP port`}},
		{"vxlan:///ttl=300", []string{`vxlan: option ttl="300"`}},
		{"vxlan:///hashsize=-1", []string{`vxlan: option hashsize="-1"`}},
		{"vxlan:///rcvbuf=lots", []string{`vxlan: option rcvbuf="lots"`}},
		{"vxlan:///if=gvnoif0", []string{`vxlan: option if="gvnoif0": no such network interface`}},
		{"vxlan://ff05::1/v4", []string{"vxlan: address ff05::1 is not IPv4"}},
		{"vxlan://0.0.0.0", []string{"the address must be a multicast group or a peer"}},
		{"vxvde://10.1.2.3", []string{"vxvde: 10.1.2.3 is not a multicast group address"}},
		{"vxvde:///ttl=0", []string{`vxvde: option ttl="0": want a number from 1 to 255`}},
		{"vxvde:///vni=gv-no-such-group", []string{`vxvde: option vni="gv-no-such-group": no such group`}},
		{"vxvde:///grp=99999999999", []string{`vxvde: option grp="99999999999"`}},
		{"vxvde:///bind=::1", []string{`vxvde: option bind="::1": address ::1 is not IPv4`}},
		{"vxvde:///v4/v6x", []string{`vxvde: unknown option "v6x"`}},
	} {
		oneLine(t, []string{vp, c.vnl}, append([]string{"vde_open " + c.vnl + ": "}, c.want...)...)
	}
}
