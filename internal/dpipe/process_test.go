package dpipe

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// behaviour is a process-level check that any implementation must pass.
type behaviour struct {
	name string
	fn   func(t *testing.T, im impl)
}

func behaviours() []behaviour {
	return []behaviour{
		{"pidfile and pgrpfile", checkPidfiles},
		{"fd layout and environment", func(t *testing.T, im impl) { checkLayout(t, im, false) }},
		{"fd layout with inherited fd 3", func(t *testing.T, im impl) { checkLayout(t, im, true) }},
		{"SIGTERM", checkSIGTERM},
		{"SIGINT", func(t *testing.T, im impl) { checkReraise(t, im, syscall.SIGINT, false) }},
		{"SIGHUP", func(t *testing.T, im impl) { checkReraise(t, im, syscall.SIGHUP, false) }},
		{"SIGINT ignored at start-up", func(t *testing.T, im impl) { checkReraise(t, im, syscall.SIGINT, true) }},
		{"SIGHUP ignored at start-up", func(t *testing.T, im impl) { checkReraise(t, im, syscall.SIGHUP, true) }},
		{"nowrapproc", checkNoWrap},
		{"nowrapnoclean", checkNoWrapNoClean},
		{"daemon", checkDaemon},
		{"own stdout released", checkStdoutReleased},
		{"session leader cannot create pgrp", checkSessionLeader},
	}
}

func TestBehaviours(t *testing.T) {
	for _, b := range behaviours() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			b.fn(t, ours())
		})
	}
}

// TestHelpSubprocess runs -h in a child that shares the test's process
// group: the original would SIGTERM that group, killing this test binary
// (and go test) before the assertions run.
func TestHelpSubprocess(t *testing.T) {
	im := ours()
	res := runImpl(t, im, runOpts{noReap: true}, "-h", "true", "=", "true")
	if res.status != 255 || res.signal != 0 || res.stderr != usageText {
		t.Errorf("-h: status %d signal %v stderr %q", res.status, res.signal, res.stderr)
	}
}

// checkPidfiles: -p writes "<pid>\n", -P writes "-<pgid>\n" (dpipe's own
// group, so pgid == pid), both exist while the chain runs and are removed
// at exit.
func checkPidfiles(t *testing.T, im impl) {
	dir := t.TempDir()
	pf, pg := filepath.Join(dir, "pid"), filepath.Join(dir, "pgrp")
	res := runImpl(t, im, runOpts{},
		chain("-p", pf, "-P", pg, sh(`cat "$1" "$2" >&2`, "A", pf, pg), "=", "true")...)
	if res.status != 0 {
		t.Errorf("status %d", res.status)
	}
	if want := fmt.Sprintf("%d\n-%d\n", res.pid, res.pid); res.stderr != want {
		t.Errorf("pid files contained %q, want %q", res.stderr, want)
	}
	if exists(pf) || exists(pg) {
		t.Errorf("pid files not removed")
	}
}

// inheritableFDs lists the fds in [3,10) the test binary passes to its
// children (open without close-on-exec).
func inheritableFDs() map[int]bool {
	m := map[int]bool{}
	for fd := 3; fd < 10; fd++ {
		if fl, err := fcntl(fd, syscall.F_GETFD, 0); err == nil && fl&syscall.FD_CLOEXEC == 0 {
			m[fd] = true
		}
	}
	return m
}

// fdsInfo reports, for each stage, its open fds 0-9, the ALTERNATE_*
// variables and its ignored signals.
const fdsInfo = `fds=; for n in 0 1 2 3 4 5 6 7 8 9; do [ -e /proc/$$/fd/$n ] && fds="$fds $n"; done
ign=$(sed -n 's/^SigIgn:[[:space:]]*//p' /proc/$$/status)
echo "$0:fds=$fds alt=$ALTERNATE_STDIN/$ALTERNATE_STDOUT ign=$ign" >&2`

// checkLayout: every child sees ALTERNATE_STDIN/ALTERNATE_STDOUT (the two
// lowest fds not inherited, normally 3/4); only bidirectional middle
// stages have them open; one-way stages and the ends only 0-2; inherited
// descriptors reach every child; the original's ignored signals are
// inherited as ignored.
func checkLayout(t *testing.T, im impl, inheritFD3 bool) {
	var o runOpts
	inh := inheritableFDs()
	if inheritFD3 {
		null, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		defer null.Close()
		if len(inh) != 0 {
			t.Skipf("test binary already has inheritable fds %v", inh)
		}
		o.extraFiles = []*os.File{null}
		inh = map[int]bool{3: true}
	}
	var alt []int
	for fd := 3; len(alt) < 2; fd++ {
		if !inh[fd] {
			alt = append(alt, fd)
		}
	}
	fdList := func(extra ...int) string {
		s := ""
		for fd := 0; fd < 10; fd++ {
			if fd < 3 || inh[fd] || fd == extra[0] || fd == extra[1] {
				s += " " + strconv.Itoa(fd)
			}
		}
		return s
	}
	st := func(name string) []string { return sh(fdsInfo, name) }
	res := runImpl(t, im, o, chain(st("A"), "=", st("B"), "=}", st("C"), "}=", st("D"), "={", st("E"), "{=", st("F"))...)
	if res.status != 0 {
		t.Errorf("status %d", res.status)
	}
	lines := res.lines()
	if len(lines) != 6 {
		t.Fatalf("want 6 reports, got %q", lines)
	}
	altEnv := fmt.Sprintf("alt=%d/%d", alt[0], alt[1])
	for _, l := range lines {
		name, rest, _ := strings.Cut(l, ":")
		want := "fds=" + fdList(-1, -1)
		if name == "B" || name == "D" { // bidirectional middles (D: "}=" closes to a plain "=")
			want = "fds=" + fdList(alt[0], alt[1])
		}
		if !strings.HasPrefix(rest, want+" "+altEnv+" ign=") {
			t.Errorf("%s: %q, want prefix %q", name, rest, want+" "+altEnv)
		}
		_, ignHex, _ := strings.Cut(rest, "ign=")
		ign, err := strconv.ParseUint(ignHex, 16, 64)
		if err != nil {
			t.Errorf("%s: SigIgn %q: %v", name, ignHex, err)
			continue
		}
		for _, sig := range []syscall.Signal{syscall.SIGPIPE, syscall.SIGALRM, syscall.SIGUSR1, syscall.SIGUSR2,
			syscall.SIGVTALRM, syscall.SIGIO, syscall.SIGPWR} {
			if ign&(1<<(uint(sig)-1)) == 0 {
				t.Errorf("%s: %v not ignored (SigIgn %s)", name, sig, ignHex)
			}
		}
	}
}

// Commands of the signal scenarios: "last" traps SIGTERM (and reports it),
// "first" reports the EOF it gets when "last" exits.
var (
	sigFirst = sh(`read -r x; echo "first:eof" >&2`, "first")
	sigLast  = sh(`trap 'echo last:term >&2; exit 7' TERM; echo ready >&2; while :; do sleep 0.05; done`, "last")
)

// signalAfterReady returns an onStart hook that sends sig once the chain
// reports "ready". The original only learns the last command's pid when
// it reaches waitpid() (lastpid is set in waitfortermination()), and a
// SIGTERM before that does not reach the last command: for the real dpipe
// the hook therefore also waits until it sleeps in wait4. Ours handles
// signals only after the whole chain has been started, so it needs no
// such care.
func signalAfterReady(t *testing.T, im impl, sig syscall.Signal) func(int, string) {
	return func(pid int, errPath string) {
		if !waitFor(10*time.Second, fileContains(errPath, "ready")) {
			t.Errorf("chain never became ready")
		}
		if im.name == "real" && !waitFor(5*time.Second, func() bool {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/wchan", pid))
			return err == nil && string(b) == "do_wait"
		}) {
			t.Logf("real dpipe not seen in wait4")
		}
		syscall.Kill(pid, sig)
	}
}

// checkSIGTERM: pid file removed, the last command gets SIGTERM, dpipe
// exits 0 at once, and the first command then dies of EOF on its own.
func checkSIGTERM(t *testing.T, im impl) {
	pf := filepath.Join(t.TempDir(), "pid")
	res := runImpl(t, im, runOpts{onStart: signalAfterReady(t, im, syscall.SIGTERM)},
		chain("-p", pf, sigFirst, "=", sigLast)...)
	if res.status != 0 || res.signal != 0 {
		t.Errorf("status %d signal %v, want 0", res.status, res.signal)
	}
	if exists(pf) {
		t.Errorf("pid file not removed")
	}
	// runImpl waited for the whole group, so both have reported.
	if got, want := strings.Join(res.lines(), ","), "first:eof,last:term,ready"; got != want {
		t.Errorf("stderr lines %s, want %s", got, want)
	}
}

// checkReraise: SIGINT/SIGHUP remove the pid file and are re-raised to the
// whole process group: dpipe and every command die of it. With
// ignoredAtStart dpipe is started with the signal ignored (as by nohup);
// it must die of it all the same.
func checkReraise(t *testing.T, im impl, sig syscall.Signal, ignoredAtStart bool) {
	pf := filepath.Join(t.TempDir(), "pid")
	o := runOpts{onStart: signalAfterReady(t, im, sig)}
	if ignoredAtStart {
		o.ignoreSigs = map[syscall.Signal]string{syscall.SIGINT: "INT", syscall.SIGHUP: "HUP"}[sig]
	}
	res := runImpl(t, im, o, chain("-p", pf, sigFirst, "=", sigLast)...)
	if res.signal != sig {
		t.Errorf("%s: status %d signal %v, want killed by %v", im.name, res.status, res.signal, sig)
	}
	if exists(pf) {
		t.Errorf("pid file not removed")
	}
	if strings.Contains(res.stderr, "first:eof") {
		t.Errorf("first command survived the signal: %q", res.stderr)
	}
}

// checkNoWrap: with -n the last command replaces dpipe (same pid, named
// by the pid file) and a helper removes the pid file once it is gone.
// The last command lingers a little: the original's helper calls
// getppid() only once it runs, and if the last command is already gone by
// then it watches the wrong process (the test binary) forever.
func checkNoWrap(t *testing.T, im impl) {
	pf := filepath.Join(t.TempDir(), "p id\"\n'x") // survives the trip to the helper
	res := runImpl(t, im, runOpts{},
		chain("-n", "-p", pf, sh("sleep 0.1", "first"), "=", sh(`echo "last:$$:$(cat "$1")" >&2; sleep 0.3; exit 3`, "last", pf))...)
	if res.status != 3 {
		t.Errorf("status %d, want 3", res.status)
	}
	if want := fmt.Sprintf("last:%d:%d\n", res.pid, res.pid); res.stderr != want {
		t.Errorf("stderr %q, want %q", res.stderr, want)
	}
	// runImpl waited for the whole group, helper included.
	if exists(pf) {
		t.Errorf("pid file not removed by the -n helper")
	}
}

// checkNoWrapNoClean: -N execs the last command and leaves the files.
func checkNoWrapNoClean(t *testing.T, im impl) {
	pf := filepath.Join(t.TempDir(), "pid")
	res := runImpl(t, im, runOpts{}, chain("-N", "-p", pf, "true", "=", sh(`echo "last:$$" >&2`, "last"))...)
	if res.status != 0 || res.stderr != fmt.Sprintf("last:%d\n", res.pid) {
		t.Errorf("status %d stderr %q", res.status, res.stderr)
	}
	b, err := os.ReadFile(pf)
	if err != nil || string(b) != fmt.Sprintf("%d\n", res.pid) {
		t.Errorf("pid file %q, %v; want it left with %d", b, err, res.pid)
	}
}

// checkDaemon: -d returns 0 at once; the daemon (named by the pid file)
// leads a new session, runs the chain from "/" with stdio on /dev/null and
// removes the pid file when the chain is over.
func checkDaemon(t *testing.T, im impl) {
	dir := t.TempDir()
	pf, out, release := filepath.Join(dir, "pid"), filepath.Join(dir, "out"), filepath.Join(dir, "release")
	// The last command keeps the chain (and the daemon) alive until the
	// test creates the release file (at most ~10 s).
	waitRelease := `i=0; while [ ! -e "$1" ] && [ $i -lt 500 ]; do sleep 0.02; i=$((i+1)); done`
	defer os.WriteFile(release, nil, 0o644)
	res := runImpl(t, im, runOpts{noReap: true},
		chain("-d", "-p", pf, sh(`echo "first:$(pwd):$(readlink /proc/self/fd/2):$PPID" > "$1"; read -r x`, "first", out),
			"=", sh(waitRelease, "last", release))...)
	if res.status != 0 || res.stderr != "" {
		t.Errorf("status %d stderr %q", res.status, res.stderr)
	}
	var daemon int
	if !waitFor(10*time.Second, func() bool {
		b, err := os.ReadFile(pf)
		if err != nil || !strings.HasSuffix(string(b), "\n") {
			return false
		}
		daemon, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	}) {
		t.Fatalf("daemon never wrote its pid file")
	}
	defer reapGroup(t, daemon)
	if daemon == res.pid {
		t.Errorf("daemon has the parent's pid %d", daemon)
	}
	if p, ok := readProc(daemon); !ok || p.session != daemon || p.pgrp != daemon {
		t.Errorf("daemon %d: %+v, want session and process group %d", daemon, p, daemon)
	}
	if !waitFor(10*time.Second, fileContains(out, "\n")) {
		t.Fatalf("first command never ran")
	}
	b, _ := os.ReadFile(out)
	if want := fmt.Sprintf("first:/:/dev/null:%d\n", daemon); string(b) != want {
		t.Errorf("first command reported %q, want %q", b, want)
	}
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if !waitFor(10*time.Second, func() bool { return !exists(pf) }) {
		t.Errorf("daemon did not remove its pid file")
	}
}

// checkStdoutReleased: dpipe does not keep its own stdout open while the
// chain runs (the original dup2()s pipes over it), so a reader of it sees
// EOF at once, e.g. in "dpipe ... | cat".
func checkStdoutReleased(t *testing.T, im impl) {
	dir := t.TempDir()
	release := filepath.Join(dir, "release")
	defer os.WriteFile(release, nil, 0o644)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	waitRelease := `i=0; while [ ! -e "$1" ] && [ $i -lt 500 ]; do sleep 0.02; i=$((i+1)); done`
	res := runImpl(t, im, runOpts{stdout: w, onStart: func(pid int, _ string) {
		w.Close()
		r.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := r.Read(make([]byte, 16))
		if n != 0 || err != io.EOF {
			t.Errorf("read from dpipe's stdout: %d, %v; want EOF", n, err)
		}
		if p, ok := readProc(pid); !ok || p.state == "Z" {
			t.Errorf("dpipe already gone (%+v) when its stdout was released", p)
		}
		os.WriteFile(release, nil, 0o644)
	}}, chain(sh(`read -r x`, "first"), "=", sh(waitRelease, "last", release))...)
	if res.status != 0 {
		t.Errorf("status %d", res.status)
	}
}

// checkSessionLeader: setpgrp() fails for a session leader; dpipe reports
// it and exits 1 without running anything.
func checkSessionLeader(t *testing.T, im impl) {
	res := runImpl(t, im, runOpts{setsid: true}, chain(sh(`echo ran >&2`, "A"), "=", "true")...)
	if res.status != 1 || res.stderr != "Err: cannot create pgrp\n" {
		t.Errorf("status %d stderr %q", res.status, res.stderr)
	}
}
