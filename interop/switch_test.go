package interop

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// forwarding runs the same learning scenario with three plugs on the switch
// in dir: broadcast reaches everyone else, unknown unicast floods, and once
// both MACs are known unicast reaches only its owner.
func forwarding(t *testing.T, dir string, plugs [3]string) {
	var p [3]*plug
	for i, exe := range plugs {
		p[i] = startPlug(t, exe, dir)
	}
	waitPorts(t, dir, 3)
	b1 := eth(bcast, mac(1), "broadcast from a")
	p[0].send(t, b1)
	p[1].expect(t, "b", b1)
	p[2].expect(t, "c", b1)
	p[0].quiet(t, "a (own broadcast)")
	u := eth(mac(2), mac(1), "unknown unicast")
	p[0].send(t, u)
	p[1].expect(t, "b", u)
	p[2].expect(t, "c", u)
	r := eth(mac(1), mac(2), "reply from b")
	p[1].send(t, r)
	p[0].expect(t, "a", r)
	p[2].quiet(t, "c (unicast to a)")
	k := eth(mac(2), mac(1), "known unicast")
	p[0].send(t, k)
	p[1].expect(t, "b", k)
	p[2].quiet(t, "c (unicast to b)")
	// a full-size frame crosses unchanged
	big := eth(mac(1), mac(2), string(make([]byte, 1500)))
	p[1].send(t, big)
	p[0].expect(t, "a (1514 bytes)", big)
	for i := range p {
		p[i].stdin.Close()
		if code := p[i].Wait(t, 3*time.Second); code != 0 {
			t.Fatalf("plug %d exit %d: %s", i, code, p[i].stderr)
		}
	}
}

func TestRealPlugsThroughOurSwitch(t *testing.T) {
	vp := real(t, "vde_plug")
	dir, _ := switchProc(t, bin("vde_switch"))
	forwarding(t, dir, [3]string{vp, vp, vp})
}

func TestOurPlugsThroughRealSwitch(t *testing.T) {
	dir, _ := switchProc(t, real(t, "vde_switch"))
	forwarding(t, dir, [3]string{bin("vde_plug"), bin("vde_plug"), bin("vde_plug")})
}

func TestMixedPlugsOnBothSwitches(t *testing.T) {
	vp := real(t, "vde_plug")
	for _, sw := range []string{bin("vde_switch"), real(t, "vde_switch")} {
		dir, _ := switchProc(t, sw)
		forwarding(t, dir, [3]string{vp, bin("vde_plug"), vp})
	}
}

// A cable made by dpipe and two plugs joins the real switch and ours;
// traffic crosses both ways, with our dpipe and with the real one.
func TestCableBetweenRealAndOurSwitch(t *testing.T) {
	vp := real(t, "vde_plug")
	for _, dp := range []string{bin("dpipe"), real(t, "dpipe")} {
		realDir, _ := switchProc(t, real(t, "vde_switch"))
		ourDir, _ := switchProc(t, bin("vde_switch"))
		start(t, dp, bin("vde_plug"), ourDir, "=", vp, realDir)
		waitPorts(t, realDir, 1)
		waitPorts(t, ourDir, 1)
		a := startPlug(t, vp, ourDir)
		b := startPlug(t, bin("vde_plug"), realDir)
		waitPorts(t, realDir, 2)
		waitPorts(t, ourDir, 2)
		f1 := eth(bcast, mac(0xa), "from our switch's side")
		a.send(t, f1)
		b.expect(t, "b on the real switch via "+dp, f1)
		f2 := eth(mac(0xa), mac(0xb), "back from the real switch's side")
		b.send(t, f2)
		a.expect(t, "a on our switch via "+dp, f2)
		f3 := eth(mac(0xb), mac(0xa), "known unicast across")
		a.send(t, f3)
		b.expect(t, "b (unicast)", f3)
	}
}

// Frames longer than 1518 bytes are truncated to 1518 (as vde_switch does
// by default), frames shorter than 14 bytes are ignored.
func TestOversizeAndRuntFrames(t *testing.T) {
	vp := real(t, "vde_plug")
	for _, sw := range []string{bin("vde_switch"), real(t, "vde_switch")} {
		dir, _ := switchProc(t, sw)
		a, b := startPlug(t, vp, dir), startPlug(t, vp, dir)
		waitPorts(t, dir, 2)
		long := eth(bcast, mac(1), string(make([]byte, 2000)))
		a.send(t, long)
		b.expect(t, "b (truncated) on "+sw, long[:1518])
		a.send(t, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
		b.quiet(t, "b (runt) on "+sw)
	}
}

// Lifecycle: SIGTERM removes the directory and the pid file; a second switch
// on the same directory exits 255; an existing pid file refuses to start;
// EOF on the stdin console exits 0.
func TestSwitchLifecycle(t *testing.T) {
	tmp := t.TempDir()
	dir, pidf := filepath.Join(tmp, "sw"), filepath.Join(tmp, "sw.pid")
	sw := start(t, bin("vde_switch"), "-s", dir, "-p", pidf)
	waitFor(t, func() bool { _, err := os.Stat(pidf); return err == nil }, "pid file")
	second := start(t, bin("vde_switch"), "-s", dir)
	if code := second.Wait(t, 5*time.Second); code != 255 ||
		!contains(second.stderr.String(), "Could not bind to socket '"+dir+"/ctl': Address already in use") {
		t.Fatalf("second switch: exit %d, stderr %q", code, second.stderr)
	}
	third := start(t, bin("vde_switch"), "-s", dir+"2", "-p", pidf)
	if code := third.Wait(t, 5*time.Second); code != 1 || !contains(third.stderr.String(), "Error in pidfile creation: File exists") {
		t.Fatalf("third switch: exit %d, stderr %q", code, third.stderr)
	}
	sw.Stop()
	if code := sw.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("SIGTERM exit %d", code)
	}
	for _, p := range []string{dir, pidf} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Fatalf("%s still there after SIGTERM", p)
		}
	}
	eof := start(t, bin("vde_switch"), "-s", dir)
	eof.stdin.Close()
	if code := eof.Wait(t, 5*time.Second); code != 0 || !contains(eof.stderr.String(), "EOF on stdin, cleaning up and exiting") {
		t.Fatalf("EOF on stdin: exit %d, stderr %q", code, eof.stderr)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatal("directory left after EOF exit")
	}
}

// Bad requests on the control socket get a log line and EOF (never a hang)
// and the switch keeps serving: a real plug still works afterwards.
func TestBadControlRequests(t *testing.T) {
	vp := real(t, "vde_plug")
	dir, sw := switchProc(t, bin("vde_switch"), "-n", "4")
	good := startPlug(t, vp, dir)
	waitPorts(t, dir, 1)
	le := func(v uint32) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }
	req := func(magic, version, typ uint32) []byte {
		p := append(append(le(magic), le(version)...), le(typ)...)
		sa := make([]byte, 110)
		sa[0] = 1
		return append(p, sa...)
	}
	cases := map[string][]byte{
		"wrong magic":   req(0xdeadbeef, 3, 0),
		"version 2":     req(0xfeedface, 2, 0),
		"version 7":     req(0xfeedface, 7, 0),
		"bad type":      req(0xfeedface, 3, 5),
		"truncated":     req(0xfeedface, 3, 0)[:20],
		"garbage":       []byte("GET / HTTP/1.0\r\n\r\n" + string(make([]byte, 200))),
		"port too high": req(0xfeedface, 3, 40<<8),
		"connect+close": nil,
	}
	for name, msg := range cases {
		c, err := net.Dial("unix", filepath.Join(dir, "ctl"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if msg == nil {
			c.Close()
			continue
		}
		c.Write(msg)
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 200)
		n, err := c.Read(buf)
		c.Close()
		if n != 0 || err == nil || os.IsTimeout(err) {
			t.Fatalf("%s: read %d bytes, err %v: want EOF", name, n, err)
		}
	}
	later := startPlug(t, vp, dir)
	waitPorts(t, dir, 2)
	f := eth(bcast, mac(7), "still serving")
	later.send(t, f)
	good.expect(t, "good plug", f)
	log := sw.stderr.String()
	for _, want := range []string{"V0 request not supported", "version 2 port", "version 7 port", "Bad request type : 5"} {
		if !contains(log, want) {
			t.Errorf("switch log lacks %q:\n%s", want, log)
		}
	}
}

// A stream with a bad length header gets a log line; the plug keeps going
// and the next well-formed frame gets through.
func TestPlugStreamBadLength(t *testing.T) {
	vp := real(t, "vde_plug")
	dir, _ := switchProc(t, bin("vde_switch"))
	ours := startPlug(t, bin("vde_plug"), dir)
	peer := startPlug(t, vp, dir)
	waitPorts(t, dir, 2)
	f1 := eth(bcast, mac(1), "before")
	ours.send(t, f1)
	peer.expect(t, "peer", f1)
	ours.stdin.Write([]byte{0x75, 0x30, 'g', 'a', 'r', 'b', 'a', 'g', 'e'}) // length 30000 > 9236
	time.Sleep(100 * time.Millisecond)
	f2 := eth(bcast, mac(1), "after")
	ours.send(t, f2)
	peer.expect(t, "peer", f2)
	waitFor(t, func() bool { return contains(ours.stderr.String(), "packet length error") }, "log line")
}

// Hub mode floods every frame, unicast included, and learns nothing.
func TestHubMode(t *testing.T) {
	vp := real(t, "vde_plug")
	dir, _ := switchProc(t, bin("vde_switch"), "-x")
	a, b, c := startPlug(t, vp, dir), startPlug(t, vp, dir), startPlug(t, vp, dir)
	waitPorts(t, dir, 3)
	r := eth(mac(1), mac(2), "learn me")
	b.send(t, r)
	a.expect(t, "a", r)
	c.expect(t, "c", r)
	u := eth(mac(2), mac(1), "unicast in a hub")
	a.send(t, u)
	b.expect(t, "b", u)
	c.expect(t, "c", u)
}
