package interop

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// nnClients waits until the netnode in dir has n client data sockets
// (ours name them NNN.ID like vde_switch, the real ones fdN).
func nnClients(t *testing.T, dir string, n int) {
	t.Helper()
	waitFor(t, func() bool {
		ents, _ := os.ReadDir(dir)
		c := 0
		for _, e := range ents {
			if e.Name() != "ctl" && !strings.HasPrefix(e.Name(), ".") && e.Type()&os.ModeSocket != 0 {
				c++
			}
		}
		return c >= n
	}, fmt.Sprintf("%d clients in %s", n, dir))
}

// nnStart starts a netnode of kind on a new directory with node as its
// host (a stream-mode vde_plug, ours or the real one) and two clients a and
// b (client is the vde_plug to use).
func nnStart(t *testing.T, node, client, kind string) (h, a, b *plug) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), kind)
	h = startPlug(t, node, kind+"://"+dir)
	waitFor(t, func() bool { _, err := os.Stat(dir + "/ctl"); return err == nil }, kind+" control socket")
	a = startPlug(t, client, dir)
	nnClients(t, dir, 1)
	b = startPlug(t, client, dir)
	nnClients(t, dir, 2)
	return h, a, b
}

// nnTable checks the forwarding table of spec §2.9 for kind with frames:
// host h, clients a (attached first) and b.
func nnTable(t *testing.T, kind string, h, a, b *plug) {
	t.Helper()
	A, B, H := mac(0xa), mac(0xb), mac(1)
	f := func(dst, src []byte, s string) []byte { return eth(dst, src, s) }
	switch kind {
	case "hub":
		a.send(t, f(bcast, A, "a bcast"))
		h.expect(t, "host", f(bcast, A, "a bcast"))
		b.expect(t, "b", f(bcast, A, "a bcast"))
		b.send(t, f(A, B, "b to a"))
		h.expect(t, "host", f(A, B, "b to a"))
		a.expect(t, "a", f(A, B, "b to a"))
		h.send(t, f(B, H, "host to b"))
		a.expect(t, "a", f(B, H, "host to b"))
		b.expect(t, "b", f(B, H, "host to b"))
		a.quiet(t, "a")
	case "switch":
		a.send(t, f(bcast, A, "a bcast"))
		h.expect(t, "host", f(bcast, A, "a bcast"))
		b.expect(t, "b", f(bcast, A, "a bcast"))
		b.send(t, f(A, B, "b to a"))
		a.expect(t, "a", f(A, B, "b to a"))
		h.quiet(t, "host (b to a)")
		h.send(t, f(bcast, H, "host bcast"))
		a.expect(t, "a", f(bcast, H, "host bcast"))
		b.expect(t, "b", f(bcast, H, "host bcast"))
		a.send(t, f(H, A, "a to host"))
		h.expect(t, "host", f(H, A, "a to host"))
		b.quiet(t, "b (a to host)")
		h.send(t, f(B, H, "host to b"))
		b.expect(t, "b", f(B, H, "host to b"))
		a.quiet(t, "a (host to b)")
	case "multi":
		a.send(t, f(bcast, A, "a bcast"))
		h.expect(t, "host", f(bcast, A, "a bcast"))
		b.quiet(t, "b (clients never see each other)")
		h.send(t, f(B, H, "host to b"))
		a.expect(t, "a", f(B, H, "host to b"))
		b.expect(t, "b", f(B, H, "host to b"))
	case "bonding":
		a.send(t, f(bcast, A, "a bcast"))
		h.expect(t, "host", f(bcast, A, "a bcast"))
		b.quiet(t, "b (clients never see each other)")
		// Round robin, broadcasts included: 0→b, 1→a, 2→b, 3→a.
		for i, to := range []*plug{b, a, b, a} {
			fr := f(bcast, H, "host "+strconv.Itoa(i))
			h.send(t, fr)
			to.expect(t, "round robin "+strconv.Itoa(i), fr)
		}
		a.quiet(t, "a")
		b.quiet(t, "b")
	}
}

var nnKinds = []string{"hub", "switch", "multi", "bonding"}

// Our netnodes with real vde_plug clients: the forwarding tables of §2.9.
func TestNetnodeOursRealClients(t *testing.T) {
	vp := real(t, "vde_plug")
	for _, kind := range nnKinds {
		t.Run(kind, func(t *testing.T) {
			h, a, b := nnStart(t, bin("vde_plug"), vp, kind)
			nnTable(t, kind, h, a, b)
		})
	}
}

// The real netnodes (vde_plug KIND://) with our plugs as clients.
func TestNetnodeRealOurClients(t *testing.T) {
	vp := real(t, "vde_plug")
	for _, kind := range nnKinds {
		t.Run(kind, func(t *testing.T) {
			h, a, b := nnStart(t, vp, bin("vde_plug"), kind)
			nnTable(t, kind, h, a, b)
		})
	}
}

// The standalone switch of spec §9 test 1: `vde_plug null:// switch:///dir`
// as the node (ours with real clients, the real one with ours): broadcast
// reaches the other client only, unicast after learning, and a client
// whose stdin ends exits 0.
func TestNetnodeStandaloneSwitch(t *testing.T) {
	vp := real(t, "vde_plug")
	for _, c := range []struct{ name, node, client string }{{"ours", bin("vde_plug"), vp}, {"real", vp, bin("vde_plug")}} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "s1")
			start(t, c.node, "null://", "switch://"+dir)
			waitFor(t, func() bool { _, err := os.Stat(dir + "/ctl"); return err == nil }, "switch control socket")
			a := startPlug(t, c.client, dir)
			nnClients(t, dir, 1)
			b := startPlug(t, c.client, dir)
			nnClients(t, dir, 2)
			a.send(t, eth(bcast, mac(0xa), "from a"))
			b.expect(t, "b", eth(bcast, mac(0xa), "from a"))
			a.quiet(t, "a")
			b.send(t, eth(mac(0xa), mac(0xb), "b to a"))
			a.expect(t, "a", eth(mac(0xa), mac(0xb), "b to a"))
			c := startPlug(t, c.client, dir)
			nnClients(t, dir, 3)
			a.send(t, eth(mac(0xb), mac(0xa), "a to b"))
			b.expect(t, "b", eth(mac(0xb), mac(0xa), "a to b"))
			c.quiet(t, "c (unicast to b)")
			a.stdin.Close()
			if code := a.Wait(t, 5*time.Second); code != 0 {
				t.Fatalf("client exit %d", code)
			}
		})
	}
}

// vdeplug's netnodes ignore a port-0 request ([0]): the client hangs.
// Ours answer it, for the real client and ours.
func TestNetnodePort0(t *testing.T) {
	vp := real(t, "vde_plug")
	dir := filepath.Join(t.TempDir(), "h")
	h := startPlug(t, bin("vde_plug"), "hub://"+dir)
	waitFor(t, func() bool { _, err := os.Stat(dir + "/ctl"); return err == nil }, "hub control socket")
	for i, exe := range []string{vp, bin("vde_plug")} {
		c := startPlug(t, exe, dir+"[0]")
		nnClients(t, dir, i+1)
		f := eth(bcast, mac(byte(0x10+i)), "port 0 client")
		c.send(t, f)
		h.expect(t, "host", f)
		g := eth(bcast, mac(1), "to the port 0 client")
		h.send(t, g)
		c.expect(t, "port 0 client", g)
	}
}

// cpuTicks returns the user+system clock ticks pid has used.
func cpuTicks(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.Atoi(f[11])
	k, _ := strconv.Atoi(f[12])
	return u + k
}

// A control connection that sends nothing valid and closes makes the real
// netnode spin at 100 % CPU; ours drops it and stays idle, and keeps
// serving clients.
func TestNetnodeHalfOpenNoSpin(t *testing.T) {
	vp := real(t, "vde_plug")
	dir := filepath.Join(t.TempDir(), "sw")
	node := start(t, bin("vde_plug"), "null://", "switch://"+dir)
	waitFor(t, func() bool { _, err := os.Stat(dir + "/ctl"); return err == nil }, "switch control socket")
	for i := 0; i < 5; i++ {
		c, err := net.Dial("unix", dir+"/ctl")
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 {
			c.Write([]byte("not a request"))
		}
		c.Close()
	}
	time.Sleep(200 * time.Millisecond)
	before := cpuTicks(t, node.cmd.Process.Pid)
	time.Sleep(time.Second)
	// A spinning process uses about 100 ticks a second.
	if used := cpuTicks(t, node.cmd.Process.Pid) - before; used > 20 {
		t.Fatalf("the idle node used %d clock ticks in a second after half-open connections", used)
	}
	a := startPlug(t, vp, dir)
	nnClients(t, dir, 1)
	b := startPlug(t, vp, dir)
	nnClients(t, dir, 2)
	a.send(t, eth(bcast, mac(0xa), "still serving"))
	b.expect(t, "b", eth(bcast, mac(0xa), "still serving"))
	if !strings.Contains(node.stderr.String(), "switch://"+dir+": ") {
		t.Errorf("no log line for the bad connections: %q", node.stderr)
	}
}

// Jumbo frames through our netnode: 9000-byte frames between real clients
// (the most vde_plug moves is 9234), and 60000-byte frames between our
// clients when everybody runs with --maxframe 65535.
func TestNetnodeJumbo(t *testing.T) {
	vp := real(t, "vde_plug")
	dir := filepath.Join(t.TempDir(), "h")
	h := startPlug(t, bin("vde_plug"), "--maxframe", "65535", "hub://"+dir)
	waitFor(t, func() bool { _, err := os.Stat(dir + "/ctl"); return err == nil }, "hub control socket")
	ra := startPlug(t, vp, dir)
	nnClients(t, dir, 1)
	rb := startPlug(t, vp, dir)
	nnClients(t, dir, 2)
	big := eth(bcast, mac(0xa), strings.Repeat("9", 9000-14))
	ra.send(t, big)
	rb.expect(t, "real b", big)
	h.expect(t, "host", big)
	oa := startPlug(t, bin("vde_plug"), "--maxframe", "65535", dir)
	nnClients(t, dir, 3)
	huge := eth(bcast, mac(0xc), strings.Repeat("j", 60000-14))
	oa.send(t, huge)
	h.expect(t, "host", huge)
	h.send(t, huge)
	oa.expect(t, "our client", huge)
}

// Bad netnode VNLs: one line naming the VNL and the problem, exit 1.
func TestNetnodeBadVNLs(t *testing.T) {
	dir := t.TempDir()
	exists := filepath.Join(dir, "exists")
	os.Mkdir(exists, 0755)
	vp := bin("vde_plug")
	for _, c := range []struct {
		vnl  string
		want []string
	}{
		{"hub://" + exists, []string{"File exists"}},
		{"switch:///gv-no-such-dir/x", []string{"No such file or directory"}},
		{"switch://" + dir + "/x[foo=1]", []string{`switch: unknown option "foo" (known: mode, dirmode, grp, hashsize, hashseed, expiretime)`}},
		{"hub://" + dir + "/x[mode=9]", []string{`hub: option mode="9": want an octal permission`}},
		{"multi://" + dir + "/x[grp=gv-no-such-group]", []string{`multi: option grp="gv-no-such-group": no such group`}},
		{"bonding://" + dir + "/x[hashsize=lots]", []string{`bonding: option hashsize="lots"`}},
	} {
		oneLine(t, []string{vp, c.vnl}, append([]string{"vde_open " + c.vnl + ": "}, c.want...)...)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("failed opens left files behind: %v", ents)
	}
}
