package interop

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// managed starts a switch with a management socket and returns its
// directory and a console on it.
func managed(t *testing.T, exe string, args ...string) (string, *consoleClient) {
	t.Helper()
	mgmt := filepath.Join(t.TempDir(), "mgmt")
	dir, _ := switchProc(t, exe, append([]string{"-M", mgmt}, args...)...)
	waitFor(t, func() bool {
		c, err := net.Dial("unix", mgmt)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, "mgmt")
	cc, _ := dialConsole(t, mgmt)
	return dir, cc
}

func (cc *consoleClient) must(t *testing.T, cmds ...string) {
	t.Helper()
	for _, c := range cmds {
		if out := cc.cmd(t, c); !strings.Contains(out, "1000 Success") {
			t.Fatalf("%s: %q", c, out)
		}
	}
}

// attach starts a real vde_plug on port n of the switch in dir.
func attach(t *testing.T, dir string, n int) *plug {
	t.Helper()
	return attachOpt(t, dir, n, false)
}

// attachOpt is attach with the option to drop spanning-tree frames.
func attachOpt(t *testing.T, dir string, n int, skipBPDU bool) *plug {
	t.Helper()
	p := startPlugOpt(t, skipBPDU, real(t, "vde_plug"), dir+"["+itoa(n)+"]")
	waitFor(t, func() bool { m, _ := filepath.Glob(filepath.Join(dir, pad3(n)+".*")); return len(m) > 0 }, "port "+itoa(n))
	return p
}

func itoa(n int) string { return strconv.Itoa(n) }
func pad3(n int) string { return fmt.Sprintf("%03d", n) }

func tagged(dst, src []byte, vid int, payload string) []byte {
	f := append(append(append([]byte{}, dst...), src...), 0x81, 0x00, byte(vid>>8), byte(vid), 0x08, 0x00)
	return append(f, payload...)
}

// Two untagged VLANs on one switch never see each other's broadcasts.
func TestVLANIsolation(t *testing.T) {
	dir, cc := managed(t, bin("vde_switch"))
	cc.must(t, "vlan/create 10", "vlan/create 20")
	for _, n := range []int{1, 2, 3, 4} {
		cc.must(t, "port/create "+itoa(n))
	}
	cc.must(t, "port/setvlan 1 10", "port/setvlan 2 10", "port/setvlan 3 20", "port/setvlan 4 20")
	a, b, c, d := attach(t, dir, 1), attach(t, dir, 2), attach(t, dir, 3), attach(t, dir, 4)
	fa := eth(bcast, mac(1), "vlan 10 broadcast")
	a.send(t, fa)
	b.expect(t, "b (vlan 10)", fa)
	c.quiet(t, "c (vlan 20)")
	d.quiet(t, "d (vlan 20)")
	fc := eth(bcast, mac(3), "vlan 20 broadcast")
	c.send(t, fc)
	d.expect(t, "d (vlan 20)", fc)
	a.quiet(t, "a (vlan 10)")
	b.quiet(t, "b (vlan 10)")
	// a frame tagged for the other VLAN is dropped at the port
	a.send(t, tagged(bcast, mac(1), 20, "sneaky"))
	c.quiet(t, "c (tag 20 from a vlan 10 port)")
	d.quiet(t, "d (tag 20 from a vlan 10 port)")
}

// A trunk between our switch and the real vde_switch carries VLANs 10 and
// 20 tagged in both directions.
func TestVLANTrunkWithRealSwitch(t *testing.T) {
	ourDir, ours := managed(t, bin("vde_switch"))
	realDir, realc := managed(t, real(t, "vde_switch"))
	for _, cc := range []*consoleClient{ours, realc} {
		cc.must(t, "vlan/create 10", "vlan/create 20", "port/create 1", "port/create 2", "port/create 3", "port/create 4",
			"vlan/addport 10 1", "vlan/addport 20 1", "port/setvlan 1 4095",
			"port/setvlan 2 10", "port/setvlan 3 20", "vlan/addport 10 4", "vlan/addport 20 4", "port/setvlan 4 4095")
	}
	start(t, bin("vde_plug"), ourDir+"[1]", realDir+"[1]") // the trunk cable
	waitPorts(t, ourDir, 1)
	waitPorts(t, realDir, 1)
	o10, o20, osnoop := attach(t, ourDir, 2), attach(t, ourDir, 3), attach(t, ourDir, 4)
	r10, r20, rsnoop := attach(t, realDir, 2), attach(t, realDir, 3), attach(t, realDir, 4)
	f := eth(bcast, mac(0x10), "ours vlan 10")
	o10.send(t, f)
	r10.expect(t, "real vlan 10 host", f)
	osnoop.expect(t, "our trunk monitor", tagged(bcast, mac(0x10), 10, "ours vlan 10"))
	rsnoop.expect(t, "real trunk monitor", tagged(bcast, mac(0x10), 10, "ours vlan 10"))
	r20.quiet(t, "real vlan 20 host")
	g := eth(bcast, mac(0x20), "real vlan 20")
	r20.send(t, g)
	o20.expect(t, "our vlan 20 host", g)
	osnoop.expect(t, "our trunk monitor", tagged(bcast, mac(0x20), 20, "real vlan 20"))
	rsnoop.expect(t, "real trunk monitor", tagged(bcast, mac(0x20), 20, "real vlan 20"))
	o10.quiet(t, "our vlan 10 host")
	// learned unicast across the trunk, both ways
	u := eth(mac(0x10), mac(0x11), "unicast back over the trunk")
	r10.send(t, u)
	o10.expect(t, "our vlan 10 host", u)
}

// port/setuser and port/setgroup hold against a client of another uid:
// refused (EOF at once, no hang) on a port owned by root, accepted where its
// group is allowed.
func TestAccessControl(t *testing.T) {
	setpriv := real(t, "setpriv")
	if _, err := exec.LookPath("vde_plug"); err != nil {
		real(t, "vde_plug")
	}
	if out, err := exec.Command("id", "-u", "nobody").Output(); err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatal("no user nobody")
	}
	dir, cc := managed(t, bin("vde_switch"), "-m", "666")
	// let nobody reach the switch directory through the test's temp dirs
	for p := filepath.Dir(dir); p != filepath.Clean(os.TempDir()) && p != "/"; p = filepath.Dir(p) {
		os.Chmod(p, 0755)
	}
	cc.must(t, "port/create 5", "port/setuser 5 root", "port/create 7", "port/setgroup 7 nogroup")
	asNobody := func(port string) *plug {
		return startPlug(t, setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", "vde_plug", dir+"["+port+"]")
	}
	refused := asNobody("5")
	select {
	case <-refused.done:
	case <-time.After(5 * time.Second):
		t.Fatal("refused client still waiting after 5 s")
	}
	if refused.cmd.ProcessState.ExitCode() == 0 {
		t.Fatalf("refused client exited 0: %s", refused.stderr)
	}
	ok := asNobody("7")
	waitFor(t, func() bool { m, _ := filepath.Glob(filepath.Join(dir, "007.*")); return len(m) > 0 }, "port 7 endpoint")
	out := cc.cmd(t, "port/print 7")
	if !strings.Contains(out, "Current User: nobody Access Control: (User: NONE - Group: nogroup)") {
		t.Fatalf("port/print 7: %q", out)
	}
	peer := attach(t, dir, 1)
	f := eth(bcast, mac(9), "from nobody")
	ok.send(t, f)
	peer.expect(t, "peer", f)
}

// vlan/remove 0 followed by new connections does not crash (it crashes the
// original): the new port simply has no untagged VLAN.
func TestRemoveVLAN0ThenConnect(t *testing.T) {
	dir, cc := managed(t, bin("vde_switch"))
	cc.must(t, "vlan/remove 0")
	p := attach(t, dir, 1)
	attach(t, dir, 2)
	p.send(t, eth(bcast, mac(1), "into no vlan"))
	var out string
	waitFor(t, func() bool {
		out = cc.cmd(t, "port/print 1")
		return strings.Contains(out, "IN:  pkts          1")
	}, "the frame counted")
	if !strings.Contains(out, "untagged_vlan=4095") {
		t.Fatalf("port/print 1: %q", out)
	}
	cc.must(t, "vlan/create 5", "port/setvlan 1 5")
}
