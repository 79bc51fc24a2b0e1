package dpipe

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperEnv makes the test binary run Main instead of the tests (see
// TestMain), so every process-level behaviour (process group, signals,
// -d/-n re-execution, which re-runs os.Args) is exercised in a child.
const helperEnv = "GOVDE_DPIPE_TEST_HELPER"

// realDpipe is the reference implementation (vdeplug4).
const realDpipe = "/usr/bin/dpipe"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		os.Exit(Main(os.Args[1:], os.Stderr))
	}
	// Become a child subreaper: processes orphaned by a dpipe (the -d
	// daemon, the commands left behind by SIGTERM or -n) are re-parented to
	// the test binary, so reapGroup can wait for them. PID 1 here does not
	// reap orphans.
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, 36 /* PR_SET_CHILD_SUBREAPER */, 1, 0); e != 0 {
		fmt.Fprintln(os.Stderr, "PR_SET_CHILD_SUBREAPER:", e)
	}
	os.Exit(m.Run())
}

// impl is a dpipe implementation under test.
type impl struct {
	name string
	path string
	env  []string
}

func ours() impl {
	// Under -race every Go process sleeps 1 s at exit unless told not to.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	return impl{name: "ours", path: os.Args[0], env: []string{helperEnv + "=1", "GORACE=" + gorace}}
}

func realImpl() impl { return impl{name: "real", path: realDpipe} }

// haveReal reports whether the real dpipe is installed; when it is not,
// the test fails under CI=true and is skipped otherwise.
func haveReal(t *testing.T) bool {
	t.Helper()
	if _, err := os.Stat(realDpipe); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not available (CI=true): %v", realDpipe, err)
		}
		t.Skipf("%s not available: %v", realDpipe, err)
		return false
	}
	return true
}

// checkNoHelp refuses argument lists that the real dpipe would treat as
// -h/--help: its usage SIGTERMs the caller's process group (go test).
func checkNoHelp(t *testing.T, args []string) {
	t.Helper()
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			return
		}
		if strings.HasPrefix(a, "--") {
			name, _, hasValue := strings.Cut(a[2:], "=")
			if strings.HasPrefix("help", name) {
				t.Fatalf("refusing to run the real dpipe with %q", a)
			}
			if !hasValue && name != "" && (strings.HasPrefix("pidfile", name) || strings.HasPrefix("pgrpfile", name)) {
				i++ // the next word is the argument
			}
			continue
		}
		for j := 1; j < len(a); j++ {
			switch a[j] {
			case 'h':
				t.Fatalf("refusing to run the real dpipe with %q", a)
			case 'p', 'P':
				if j == len(a)-1 {
					i++ // the next word is the argument
				}
				j = len(a)
			}
		}
	}
}

// result is the outcome of one dpipe run.
type result struct {
	pid    int
	status int // exit code, or 128+signal
	signal syscall.Signal
	stderr string
}

func (r result) lines() []string {
	l := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if r.stderr == "" {
		l = nil
	}
	slices.Sort(l)
	return l
}

// runOpts adjusts how runImpl starts dpipe.
type runOpts struct {
	dir        string
	env        []string
	extraFiles []*os.File                       // inherited by the dpipe process as fds 3, 4, ...
	stdout     *os.File                         // dpipe's stdout (default /dev/null)
	onStart    func(pid int, stderrPath string) // called after start
	ignoreSigs string                           // signals to start dpipe with ignored (sh trap syntax)
	noReap     bool                             // do not wait for the process group to empty
	setsid     bool                             // start dpipe as a session leader
}

// runImpl runs an implementation with args (stderr to a file), waits for
// it (killing its group and failing after a timeout) and then, unless
// o.noReap, for everything left in its process group.
func runImpl(t *testing.T, im impl, o runOpts, args ...string) result {
	t.Helper()
	if im.name == "real" {
		checkNoHelp(t, args)
	}
	errPath := filepath.Join(t.TempDir(), "stderr")
	errFile, err := os.Create(errPath)
	if err != nil {
		t.Fatal(err)
	}
	defer errFile.Close()
	cmd := exec.Command(im.path, args...)
	cmd.Args[0] = "dpipe"
	if im.name == "ours" {
		cmd.Args[0] = im.path
	}
	if o.ignoreSigs != "" {
		// sh execs dpipe (same pid) with these signals set to SIG_IGN.
		cmd = exec.Command("sh", append([]string{"-c", `trap "" ` + o.ignoreSigs + `; exec "$0" "$@"`, im.path}, args...)...)
	}
	cmd.Dir = o.dir
	cmd.Env = append(append(os.Environ(), im.env...), o.env...)
	cmd.Stderr = errFile
	cmd.ExtraFiles = o.extraFiles
	if o.stdout != nil {
		cmd.Stdout = o.stdout
	}
	if o.setsid {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	if o.onStart != nil {
		o.onStart(pid, errPath)
	}
	select {
	case err = <-waited:
	case <-time.After(15 * time.Second):
		syscall.Kill(-pid, syscall.SIGKILL)
		syscall.Kill(pid, syscall.SIGKILL)
		<-waited
		reapGroup(t, pid)
		t.Fatalf("%s %q did not terminate", im.name, args)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%s %q: %v", im.name, args, err)
	}
	res := result{pid: pid}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		res.signal = ws.Signal()
		res.status = 128 + int(ws.Signal())
	} else {
		res.status = ws.ExitStatus()
	}
	if !o.noReap {
		reapGroup(t, pid)
	}
	b, err := os.ReadFile(errPath)
	if err != nil {
		t.Fatal(err)
	}
	res.stderr = string(b)
	return res
}

// proc is one line of /proc/PID/stat.
type proc struct {
	pid, ppid, pgrp, session int
	state                    string
}

func readProc(pid int) (proc, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return proc{}, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return proc{}, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 4 {
		return proc{}, false
	}
	p := proc{pid: pid, state: f[0]}
	p.ppid, _ = strconv.Atoi(f[1])
	p.pgrp, _ = strconv.Atoi(f[2])
	p.session, _ = strconv.Atoi(f[3])
	return p, true
}

func groupMembers(pgid int) []proc {
	ents, _ := os.ReadDir("/proc")
	var out []proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readProc(pid); ok && p.pgrp == pgid {
			out = append(out, p)
		}
	}
	return out
}

// reapGroup waits until process group pgid is empty, reaping the members
// that were re-parented to the test binary. Leftovers after a few seconds
// are killed and reported.
func reapGroup(t *testing.T, pgid int) {
	t.Helper()
	deadline := time.Now().Add(8 * time.Second)
	me := os.Getpid()
	for {
		members := groupMembers(pgid)
		if len(members) == 0 {
			return
		}
		for _, m := range members {
			if m.ppid == me {
				var ws syscall.WaitStatus
				syscall.Wait4(m.pid, &ws, syscall.WNOHANG, nil)
			}
		}
		if time.Now().After(deadline) {
			t.Errorf("process group %d not empty: %+v", pgid, members)
			syscall.Kill(-pgid, syscall.SIGKILL)
			deadline = time.Now().Add(2 * time.Second)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitFor polls cond every 10ms until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

func fileContains(path, s string) func() bool {
	return func() bool {
		b, err := os.ReadFile(path)
		return err == nil && bytes.Contains(b, []byte(s))
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// sh builds the words "sh -c SCRIPT NAME ARGS..." (NAME becomes $0).
func sh(script, name string, args ...string) []string {
	return append([]string{"sh", "-c", script, name}, args...)
}

// chain joins commands with separators: chain(a, "=", b, "=}", c ...).
func chain(parts ...any) []string {
	var out []string
	for _, p := range parts {
		switch v := p.(type) {
		case string:
			out = append(out, v)
		case []string:
			out = append(out, v...)
		default:
			panic(fmt.Sprintf("chain: %T", p))
		}
	}
	return out
}
