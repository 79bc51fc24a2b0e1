package interop

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// oneLine runs argv (stdin empty) and checks it fails with exactly one line
// on stderr containing every want.
func oneLine(t *testing.T, argv []string, want ...string) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	out := stderr.String()
	if err == nil {
		t.Errorf("%q succeeded; stderr %q", argv, out)
		return
	}
	if _, ok := err.(*exec.ExitError); !ok {
		t.Errorf("%q: %v", argv, err)
		return
	}
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Errorf("%q: stderr is not one line: %q", argv, out)
		return
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("%q: %q does not say %q", argv, out, w)
		}
	}
}

// Bad VNLs: one clear line naming the VNL and the problem, exit 1.
func TestModulesBadVNLs(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, nil, 0644)
	vp := bin("vde_plug")
	for _, c := range []struct {
		vnl  string
		want []string
	}{
		// unknown module
		{"nosuch://x", []string{"vde_open nosuch://x: ", "Protocol not supported"}},
		// bad addresses
		{"udp://5000", []string{"vde_open udp://5000: ", `has no "->"`, "udp://[SRCADDR:]SRCPORT->DSTADDR:DSTPORT"}},
		{"udp://5000->127.0.0.1", []string{"has no port"}},
		{"udp://5000->nosuch.invalid:1", []string{"cannot resolve destination nosuch.invalid:1"}},
		{"udp://192.0.2.1:5000->127.0.0.1:1", []string{"cannot bind UDP 192.0.2.1:5000"}},
		{"qemu-stream://localhost", []string{"neither a socket path nor HOST:PORT"}},
		{"qemu-stream://" + dir + "/nobody", []string{"No such file or directory: cannot connect to unix " + dir + "/nobody"}},
		{"qemu-dgram:///a->127.0.0.1:5", []string{"both must be of one kind"}},
		{"ptp://" + plain, []string{plain + " exists and is not a socket"}},
		{"ptp:///nonexistent-dir/p", []string{"cannot bind the ptp socket /nonexistent-dir/p"}},
		{"seqpacket://abc", []string{`"abc" is not a file descriptor number`}},
		{"seqpacket://999", []string{"file descriptor 999 is not open"}},
		{"cmd://no-such-command-xy", []string{"cannot run no-such-command-xy", "not found"}},
		// missing interface
		{"udp://5000->fe80::1%gvnoif0:1", []string{`no interface "gvnoif0"`}},
		{"tap://lo", []string{"lo exists and is not a tap interface"}},
		{"tap://a_very_long_name0", []string{"longer than 15 bytes"}},
		// bad options
		{"qemu-stream:///x[foo]", []string{`unknown option "foo" for qemu-stream`}},
		{"qemu-stream:///x[listen/mode=9]", []string{"mode=9 is not an octal permission"}},
	} {
		if strings.HasPrefix(c.vnl, "tap://") && os.Geteuid() != 0 {
			continue
		}
		oneLine(t, []string{vp, c.vnl}, append([]string{"vde_open " + c.vnl + ": "}, c.want...)...)
	}
}

// Permission problems with taps, as an unprivileged user (nobody), and a
// missing /dev/net/tun, in a private mount namespace so the host's device
// is not touched; and what works without privileges: a tap pre-created for
// the user.
func TestModulesTapPermissions(t *testing.T) {
	tapNeedNetns(t)
	runuser := real(t, "runuser")
	real(t, "unshare")
	ns := tapNetns(t)
	// Our binary, and a switch directory, where nobody reaches them.
	pub, err := os.MkdirTemp("", "govde-perm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(pub) })
	os.Chmod(pub, 0777)
	exe := filepath.Join(pub, "vde_plug")
	copyFile(t, bin("vde"), exe)
	os.Symlink("vde_plug", filepath.Join(pub, "vde_switch"))
	asNobody := func(vnl string) []string {
		return []string{"ip", "netns", "exec", ns, runuser, "-u", "nobody", "--", exe, vnl}
	}
	// /dev/net/tun as the host has it (root only here, usually).
	if fi, err := os.Stat("/dev/net/tun"); err == nil && fi.Mode().Perm()&0006 == 0 {
		oneLine(t, asNobody("tap://gvnone"), "vde_open tap://gvnone: Permission denied: cannot open /dev/net/tun",
			"run as root or with CAP_NET_ADMIN")
	}
	// No /dev/net/tun at all.
	oneLine(t, []string{"unshare", "-m", "sh", "-c", "mount -t tmpfs none /dev/net && exec \"$0\" \"$1\"", exe, "tap://gvnone"},
		"vde_open tap://gvnone: No such file or directory: /dev/net/tun is missing")
	// A /dev/net/tun everyone may open: the kernel's own rules remain.
	tapIP(t, "-n", ns, "tuntap", "add", "mode", "tap", "user", "0", "name", "gvroot")
	tapIP(t, "-n", ns, "tuntap", "add", "mode", "tap", "user", "nobody", "name", "gvnobody")
	openTun := func(argv []string) []string {
		return append([]string{"unshare", "-m", "sh", "-c",
			"mount -t tmpfs none /dev/net && mknod -m 666 /dev/net/tun c 10 200 && exec \"$@\"", "sh"}, argv...)
	}
	oneLine(t, openTun(asNobody("tap://gvmissing")),
		"vde_open tap://gvmissing: Operation not permitted: tap gvmissing does not exist and creating it needs CAP_NET_ADMIN",
		"ip tuntap add mode tap user 65534 name gvmissing")
	oneLine(t, openTun(asNobody("tap://gvroot")),
		"vde_open tap://gvroot: Operation not permitted: tap gvroot belongs to user 0")
	// The tap made for nobody opens; the plug runs until its stdin ends.
	cmd := exec.Command(openTun(asNobody("tap://gvnobody"))[0], openTun(asNobody("tap://gvnobody"))[1:]...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nobody on its own tap: %v: %s", err, out)
	}
	// vde_switch -t without the right: one line, and the switch keeps
	// serving.
	swDir := filepath.Join(pub, "sw")
	sw := exec.Command("ip", "netns", "exec", ns, runuser, "-u", "nobody", "--",
		filepath.Join(pub, "vde_switch"), "--nostdin", "-s", swDir, "-t", "gvswnone")
	var stderr syncBuf
	sw.Stderr = &stderr
	if err := sw.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: sw, stderr: &stderr, done: make(chan struct{})}
	go func() { p.err = sw.Wait(); close(p.done) }()
	t.Cleanup(p.Stop)
	waitFor(t, func() bool { _, err := os.Stat(filepath.Join(swDir, "ctl")); return err == nil }, "switch ctl socket")
	time.Sleep(200 * time.Millisecond)
	if got := stderr.String(); strings.Count(got, "\n") != 1 ||
		!strings.Contains(got, "ERROR OPENING tap interface gvswnone: Permission denied: cannot open /dev/net/tun") {
		t.Fatalf("vde_switch -t as nobody said %q", got)
	}
	select {
	case <-p.done:
		t.Fatalf("the switch stopped: %s", stderr.String())
	default:
	}
	// …and serves a plug.
	pl := startPlug(t, exe, swDir)
	waitPorts(t, swDir, 1)
	pl.stdin.Close()
	if code := pl.Wait(t, 3*time.Second); code != 0 {
		t.Fatalf("plug on the switch: exit %d %s", code, pl.stderr)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0755); err != nil {
		t.Fatal(err)
	}
}
