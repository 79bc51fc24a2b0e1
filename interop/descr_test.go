package interop

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Our vde_plug introduces itself to the real switch exactly as the real one
// does: "<descr> user=<name> pid=<pid>", seen through the switch's own
// port/print.
func TestPlugDescriptionOnRealSwitch(t *testing.T) {
	unixcmd := real(t, "unixcmd")
	tmp := t.TempDir()
	mgmt := filepath.Join(tmp, "mgmt")
	dir, _ := switchProc(t, real(t, "vde_switch"), "-M", mgmt)
	startPlug(t, bin("vde_plug"), dir)
	startPlug(t, bin("vde_plug"), "-D", "custom", dir)
	waitPorts(t, dir, 2)
	time.Sleep(50 * time.Millisecond)
	out, _ := exec.Command(unixcmd, "-s", mgmt, "-f", "/etc/vde2/vdecmd", "port/print").Output()
	text := strings.ReplaceAll(string(out), "\x00", "")
	for _, re := range []string{
		`(?m)^  -- endpoint ID \d{4} module unix prog   : vdeplug: user=\S+ pid=\d+$`,
		`(?m)^  -- endpoint ID \d{4} module unix prog   : custom user=\S+ pid=\d+$`,
	} {
		if !regexp.MustCompile(re).MatchString(text) {
			t.Fatalf("port/print does not match %s:\n%s", re, text)
		}
	}
}
