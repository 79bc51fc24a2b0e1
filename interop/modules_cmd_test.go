package interop

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// cmd:// both ways: our plug runs the real vde_plug as its command, the
// real plug runs ours; either way the command joins a switch where another
// plug answers, and ending the outer plug ends the inner one.
func TestModulesCmd(t *testing.T) {
	vp := real(t, "vde_plug")
	for _, c := range []struct{ outer, inner string }{{bin("vde_plug"), vp}, {vp, bin("vde_plug")}} {
		dir, _ := switchProc(t, bin("vde_switch"))
		other := startPlug(t, vp, dir)
		waitPorts(t, dir, 1)
		outer := startPlug(t, c.outer, "cmd://"+c.inner+" "+dir)
		waitPorts(t, dir, 2)
		f1 := eth(bcast, mac(1), "through cmd://")
		outer.send(t, f1)
		other.expect(t, "plug on the switch", f1)
		f2 := eth(mac(1), mac(2), "back through cmd://")
		other.send(t, f2)
		outer.expect(t, "plug with cmd://", f2)
		outer.stdin.Close()
		if code := outer.Wait(t, 5*time.Second); code != 0 {
			t.Fatalf("%s exit %d: %s", c.outer, code, outer.stderr)
		}
		// The inner plug has gone: its port closes.
		waitFor(t, func() bool { return countPorts(dir) == 1 }, "the inner plug's port to close")
	}
}

// cmd:// ends when its command exits (the command here is a real vde_plug
// whose switch goes away).
func TestModulesCmdChildExit(t *testing.T) {
	vp := real(t, "vde_plug")
	dir, sw := switchProc(t, bin("vde_switch"))
	outer := startPlug(t, bin("vde_plug"), "cmd://"+vp+" "+dir)
	waitPorts(t, dir, 1)
	sw.Stop()
	if code := outer.Wait(t, 5*time.Second); code != 0 {
		t.Fatalf("exit %d: %s", code, outer.stderr)
	}
}

func countPorts(dir string) int {
	ents, _ := os.ReadDir(dir)
	n := 0
	for _, e := range ents {
		if name := e.Name(); len(name) > 4 && name[3] == '.' && strings.Trim(name[:3], "0123456789") == "" {
			n++
		}
	}
	return n
}

// seqpacket://: the two ends of a socketpair, one in our plug and one in
// the real one; frames cross both ways and when one plug ends the other
// sees the end and exits 0.
func TestModulesSeqpacket(t *testing.T) {
	vp := real(t, "vde_plug")
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	fa, fb := os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
	withFD := func(exe string, f *os.File) *plug {
		p := startPlugFiles(t, []*os.File{f}, exe, "seqpacket://3")
		f.Close()
		return p
	}
	our := withFD(bin("vde_plug"), fa)
	theirs := withFD(vp, fb)
	f1 := eth(bcast, mac(1), "ours to real")
	our.send(t, f1)
	theirs.expect(t, "real", f1)
	f2 := eth(mac(1), mac(2), "real to ours")
	theirs.send(t, f2)
	our.expect(t, "ours", f2)
	big := eth(mac(1), mac(2), string(make([]byte, 1500)))
	theirs.send(t, big)
	our.expect(t, "ours (1514 bytes)", big)
	theirs.stdin.Close()
	if code := theirs.Wait(t, 3*time.Second); code != 0 {
		t.Fatalf("real exit %d: %s", code, theirs.stderr)
	}
	if code := our.Wait(t, 3*time.Second); code != 0 {
		t.Fatalf("ours exit %d after the peer left: %s", code, our.stderr)
	}
}

// startPlugFiles is startPlug with files passed from fd 3 on.
func startPlugFiles(t *testing.T, files []*os.File, argv ...string) *plug {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.ExtraFiles = files
	return modStartPlugCmd(t, cmd)
}
