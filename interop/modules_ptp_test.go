package interop

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func isSocket(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && fi.Mode()&os.ModeSocket != 0
}

// ptp:// in vdeplug 4.0.1's datagram flavour between our plug and the real
// one, in both opening orders: the first binds PATH, the second PATH+,
// frames cross both ways, and when the second end restarts the cable
// works again.
func TestModulesPTPOursReal(t *testing.T) {
	vp := real(t, "vde_plug")
	for _, order := range [][2]string{{vp, bin("vde_plug")}, {bin("vde_plug"), vp}} {
		path := filepath.Join(t.TempDir(), "pp")
		vnl := "ptp://" + path
		first := startPlug(t, order[0], vnl)
		waitFor(t, func() bool { return isSocket(path) }, "PATH bound by the first plug")
		second := startPlug(t, order[1], vnl)
		waitFor(t, func() bool { return isSocket(path + "+") }, "PATH+ bound by the second plug")
		f1 := eth(bcast, mac(1), "from the second")
		second.send(t, f1)
		first.expect(t, "first", f1)
		f2 := eth(mac(2), mac(1), "from the first")
		first.send(t, f2)
		second.expect(t, "second", f2)
		big := eth(mac(2), mac(1), string(make([]byte, 1500)))
		first.send(t, big)
		second.expect(t, "second (1514 bytes)", big)

		// The second end goes away and comes back.
		second.stdin.Close()
		if code := second.Wait(t, 3*time.Second); code != 0 {
			t.Fatalf("second plug exit %d: %s", code, second.stderr)
		}
		waitFor(t, func() bool { return !isSocket(path + "+") }, "PATH+ removed at exit")
		first.send(t, eth(mac(2), mac(1), "into the void"))
		again := startPlug(t, order[1], vnl)
		waitFor(t, func() bool { return isSocket(path + "+") }, "PATH+ bound again")
		f3 := eth(mac(1), mac(2), "back")
		again.send(t, f3)
		first.expect(t, "first after the restart", f3)
		f4 := eth(mac(2), mac(1), "welcome back")
		first.send(t, f4)
		first.send(t, f4) // the first send may hit the old, dead socket
		again.expect(t, "restarted second", f4)

		for _, p := range []*plug{first, again} {
			p.stdin.Close()
			if code := p.Wait(t, 3*time.Second); code != 0 {
				t.Fatalf("exit %d: %s", code, p.stderr)
			}
		}
		if isSocket(path) || isSocket(path+"+") {
			t.Fatal("socket files left behind")
		}
	}
}
