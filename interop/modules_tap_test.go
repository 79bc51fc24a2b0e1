package interop

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Kernel traffic between two network namespaces, each with a tap plugged
// into our switch by our vde_plug tap://: ICMP echo answered by the other
// kernel at MTU 1500, 9000 and 65520 (packets of the full MTU with DF set,
// so each crosses as one frame of up to 65534 bytes), and TCP (iperf3) at
// each MTU. The figures go to the test log; bench/tap_iperf.sh measures.
func TestModulesTapPingIperfThroughOurSwitch(t *testing.T) {
	tapNeedNetns(t)
	a, b := tapNetns(t), tapNetns(t)
	dir, _ := switchProc(t, bin("vde_switch"), "--maxframe", "65535")
	pa := tapInNetns(t, a, bin("vde_plug"), "--maxframe", "65535", "tap://gvtA", "vde://"+dir)
	tapInNetns(t, b, bin("vde_plug"), "--maxframe", "65535", "tap://gvtB", "vde://"+dir)
	tapAddr(t, a, "gvtA", "10.77.1.1/24", 1500)
	tapAddr(t, b, "gvtB", "10.77.1.2/24", 1500)
	for _, mtu := range []int{1500, 9000, 65520} {
		tapMTU(t, a, "gvtA", mtu)
		tapMTU(t, b, "gvtB", mtu)
		if got := tapPing(t, a, "10.77.1.2", mtu, 3); got != 3 {
			t.Fatalf("MTU %d: %d of 3 echo replies from B", mtu, got)
		}
		if got := tapPing(t, b, "10.77.1.1", mtu, 3); got != 3 {
			t.Fatalf("MTU %d: %d of 3 echo replies from A", mtu, got)
		}
		bps := tapIperf(t, b, a, "10.77.1.2", 1)
		t.Logf("MTU %d: TCP %.2f Gbit/s", mtu, bps/1e9)
	}
	// A packet over the MTU does not leave: the test would see it.
	if got := tapPing(t, a, "10.77.1.2", 1400, 1); got != 1 {
		t.Fatal("small packet after the jumbo runs lost")
	}
	// The plug's end takes its tap with it.
	pa.Stop()
	waitFor(t, func() bool { return exec.Command("ip", "-n", a, "link", "show", "gvtA").Run() != nil }, "gvtA to disappear")
}

// vde_switch -t: the switch, running in namespace A, attaches a tap there
// as a port; our vde_plug2tap (namespace B) and the real one (namespace C)
// join the same switch; every kernel reaches every other; when the switch
// goes, both vde_plug2tap exit 0.
func TestModulesSwitchTapAndPlug2tap(t *testing.T) {
	tapNeedNetns(t)
	realP2T := real(t, "vde_plug2tap")
	a, b, c := tapNetns(t), tapNetns(t), tapNetns(t)
	dir := filepath.Join(t.TempDir(), "sw")
	sw := tapInNetns(t, a, bin("vde_switch"), "-s", dir, "-t", "gvsw")
	waitFor(t, func() bool { _, err := os.Stat(filepath.Join(dir, "ctl")); return err == nil }, "switch ctl socket")
	tapAddr(t, a, "gvsw", "10.77.2.1/24", 1500)
	ourP2T := tapInNetns(t, b, filepath.Join(ours, "vde"), "plug2tap", "-s", dir, "gvp2t")
	tapAddr(t, b, "gvp2t", "10.77.2.2/24", 1500)
	theirs := tapInNetns(t, c, realP2T, "-s", dir, "gvrp2t")
	tapAddr(t, c, "gvrp2t", "10.77.2.3/24", 1500)
	for _, p := range []struct{ ns, dst string }{
		{b, "10.77.2.1"}, {a, "10.77.2.2"}, {c, "10.77.2.1"}, {c, "10.77.2.2"}, {b, "10.77.2.3"},
	} {
		if got := tapPing(t, p.ns, p.dst, 1500, 2); got != 2 {
			t.Fatalf("%s -> %s: %d of 2 replies", p.ns, p.dst, got)
		}
	}
	sw.Stop()
	if code := ourP2T.Wait(t, 5*time.Second); code != 0 {
		t.Fatalf("our vde_plug2tap exit %d: %s", code, ourP2T.stderr)
	}
	if code := theirs.Wait(t, 5*time.Second); code != 0 {
		t.Fatalf("real vde_plug2tap exit %d: %s", code, theirs.stderr)
	}
}
