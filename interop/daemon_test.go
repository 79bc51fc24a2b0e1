package interop

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func readPid(t *testing.T, path string) int {
	t.Helper()
	var pid int
	waitFor(t, func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid > 0
	}, "pid in "+path)
	return pid
}

// -d detaches (the command returns at once), the pid file names the daemon,
// the switch serves clients, and SIGTERM to that pid cleans everything up.
// A vde_plug -d cable between two daemon switches carries frames.
func TestDaemonMode(t *testing.T) {
	vp := real(t, "vde_plug")
	tmp := t.TempDir()
	var dirs [2]string
	var pids [2]int
	for i := range dirs {
		dirs[i] = filepath.Join(tmp, "sw"+strconv.Itoa(i))
		pidf := filepath.Join(tmp, "sw"+strconv.Itoa(i)+".pid")
		cmd := exec.Command(bin("vde_switch"), "-d", "-p", pidf, "-s", dirs[i])
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("vde_switch -d: %v %s", err, out)
		}
		pids[i] = readPid(t, pidf)
		if pids[i] == cmd.Process.Pid {
			t.Fatal("pid file names the foreground process")
		}
		t.Cleanup(func() { syscall.Kill(pids[i], syscall.SIGTERM) })
		waitFor(t, func() bool { _, err := os.Stat(filepath.Join(dirs[i], "ctl")); return err == nil }, "daemon ctl")
	}
	plugPid := filepath.Join(tmp, "plug.pid")
	if out, err := exec.Command(bin("vde_plug"), "-d", "-p", plugPid, dirs[0], dirs[1]).CombinedOutput(); err != nil {
		t.Fatalf("vde_plug -d: %v %s", err, out)
	}
	pp := readPid(t, plugPid)
	t.Cleanup(func() { syscall.Kill(pp, syscall.SIGTERM) })
	waitPorts(t, dirs[0], 1)
	waitPorts(t, dirs[1], 1)
	a, b := startPlug(t, vp, dirs[0]), startPlug(t, vp, dirs[1])
	waitPorts(t, dirs[0], 2)
	waitPorts(t, dirs[1], 2)
	f := eth(bcast, mac(3), "across a daemon cable")
	a.send(t, f)
	b.expect(t, "b", f)
	// stopping the first switch ends the cable plug (its ctl connection closes)
	syscall.Kill(pids[0], syscall.SIGTERM)
	waitFor(t, func() bool { _, err := os.Stat(dirs[0]); return os.IsNotExist(err) }, "daemon cleanup")
	waitFor(t, func() bool { _, err := os.Stat(plugPid); return os.IsNotExist(err) }, "plug exit (pid file removed)")
}
