// Package daemon detaches a govde tool from its terminal the way daemon(0,0)
// does in the C tools. Go cannot fork a running runtime, so the program
// re-executes itself (same argv[0], so classic-name dispatch still works)
// in a new session with stdio on /dev/null; the parent exits 0 at once.
//
// Difference from daemon(0,0), documented in COMPATIBILITY.md: the daemon
// keeps the caller's working directory until the tool has resolved its paths
// (sockets, pid files); tools call Chdir afterwards.
package daemon

import (
	"os"
	"os/exec"
	"syscall"
)

const envKey = "GOVDE_DAEMON_CHILD"

// IsChild reports whether this process is the re-executed daemon.
func IsChild() bool { return os.Getenv(envKey) == "1" }

// Start re-executes the program as a daemon and exits the parent with
// status 0. In the daemon it returns nil at once (and clears the marker).
func Start() error {
	if IsChild() {
		os.Unsetenv(envKey)
		return nil
	}
	cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	cmd.Env = append(os.Environ(), envKey+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	os.Exit(0)
	return nil
}

// Chdir moves the daemon to / once its paths are resolved.
func Chdir() { _ = os.Chdir("/") }
