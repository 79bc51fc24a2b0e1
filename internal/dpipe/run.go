package dpipe

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

const (
	// envAltStdin and envAltStdout carry the alternate fd numbers; set for
	// every child, like the original's setenv().
	envAltStdin  = "ALTERNATE_STDIN"
	envAltStdout = "ALTERNATE_STDOUT"

	// envDaemonChild marks the re-executed process that plays the role of
	// daemon(0,0)'s child for -d.
	envDaemonChild = "GOVDE_DPIPE_DAEMON_CHILD"
	// envCleanupWatch marks the re-executed pid/pgrp-file cleanup helper of
	// -n; its value is "<pid> <quoted file>...".
	envCleanupWatch = "GOVDE_DPIPE_CLEANUP_WATCH"

	// selfExe is re-executed for -d and for the -n cleanup helper.
	selfExe = "/proc/self/exe"
)

// ignoredSignals are the signals the original sets to SIG_IGN (its
// setsighandlers()); children inherit the disposition. The Go runtime
// refuses to ignore SIGPROF and SIGSTKFLT, so those two stay at their
// default in the children (a deliberate, unavoidable difference).
var ignoredSignals = []os.Signal{
	syscall.SIGPIPE, syscall.SIGALRM, syscall.SIGUSR1, syscall.SIGUSR2,
	syscall.SIGPROF, syscall.SIGVTALRM, syscall.SIGIO, syscall.SIGSTKFLT,
	syscall.SIGPWR,
}

// terminatingSignals get the original's clean-termination handling.
var terminatingSignals = []os.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM}

// Main runs dpipe with args (the command line without argv[0]), writing
// its own diagnostics to stderr, and returns the exit status. Children's
// stderr is stderr itself when it is an *os.File, os.Stderr otherwise.
//
// Main is meant to be the whole program (the front-end passes its result
// to os.Exit): it moves the process into a new process group, changes
// signal dispositions, sets ALTERNATE_STDIN/ALTERNATE_STDOUT in the
// environment, puts /dev/null on its own stdin/stdout, may re-execute the
// current binary (-d, -n cleanup helper), may replace the process image
// (-n), and on SIGINT/SIGHUP ends the process by re-raising the signal to
// its process group. On SIGTERM it returns 0 at once, leaving the other
// commands to die from EOF, as the original does.
//
// Exit status: that of the last command (127 if it could not be
// executed, 128+n if it was killed by signal n); 255 for -h/--help; 0 after
// a usage error in the command chain (as the original); 1 when the process
// group cannot be created or -d fails.
func Main(args []string, stderr io.Writer) int {
	if v, ok := os.LookupEnv(envCleanupWatch); ok {
		os.Unsetenv(envCleanupWatch)
		return cleanupWatcher(v)
	}
	daemonChild := os.Getenv(envDaemonChild) == "1"
	os.Unsetenv(envDaemonChild)

	o, words := parseOptions(args, stderr)
	if o.help {
		// Deliberate difference: the original's usage_and_exit() runs
		// kill(-getpgrp(), SIGTERM) and, as -h is handled before its
		// setpgrp(), that hits the caller's process group (the invoking
		// shell job or test runner). Only the text and exit(-1) are kept.
		io.WriteString(stderr, usageText)
		return 255
	}
	if o.daemon && !daemonChild {
		return daemonize(stderr)
	}
	if !o.daemon {
		// setpgrp(): own process group, which every child inherits.
		if err := syscall.Setpgid(0, 0); err != nil {
			io.WriteString(stderr, "Err: cannot create pgrp\n")
			return 1
		}
	}
	r := &runner{stderr: stderr, childStderr: os.Stderr}
	if f, ok := stderr.(*os.File); ok {
		r.childStderr = f
	}
	return r.run(o, words)
}

// runner holds the state of one dpipe run.
type runner struct {
	stderr      io.Writer
	childStderr *os.File
	saved       []string // pid/pgrp files written, removed by cleanup
}

// cleanup removes the pid/pgrp files written (the original's atexit
// handler). It is idempotent.
func (r *runner) cleanup() {
	for _, name := range r.saved {
		os.Remove(name)
	}
	r.saved = nil
}

// writeFile writes a pid/pgrp file like the original's fopen("w") +
// fprintf: failures are silent and such a file is not removed later.
func (r *runner) writeFile(name, content string) {
	f, err := os.Create(name)
	if err != nil {
		return
	}
	f.WriteString(content) // unchecked, like the original's fprintf/fclose
	f.Close()
	r.saved = append(r.saved, name)
}

// started is one child of the chain.
type started struct {
	cmd  *exec.Cmd // nil if it could not be started
	last bool
}

// run is everything after option parsing and setpgrp()/daemonizing: signal
// set-up, pid files, the chain itself, waiting and the exit status.
func (r *runner) run(o options, words []string) int {
	signal.Ignore(ignoredSignals...)
	defer signal.Reset(ignoredSignals...)
	sigc := make(chan os.Signal, 8)
	signal.Notify(sigc, terminatingSignals...)
	defer signal.Stop(sigc)

	if o.hasPid {
		r.writeFile(o.pidfile, fmt.Sprintf("%d\n", os.Getpid()))
	}
	if o.hasPgrp {
		r.writeFile(o.pgrpfile, fmt.Sprintf("-%d\n", syscall.Getpgrp()))
	}

	stages, err := parseChain(words)
	if err != nil {
		io.WriteString(r.stderr, usageText)
		r.cleanup()
		return 0
	}

	alt, err := alternateFDs()
	if err != nil {
		fmt.Fprintf(r.stderr, "%s: %v\n", progName, err)
		r.cleanup()
		return 1
	}
	defer alt.close()
	os.Setenv(envAltStdin, strconv.Itoa(alt.in))
	os.Setenv(envAltStdout, strconv.Itoa(alt.out))

	npipes, wires := plan(stages)
	pipes := make([][2]*os.File, npipes)
	defer func() {
		for _, p := range pipes {
			for _, f := range p {
				if f != nil {
					f.Close()
				}
			}
		}
	}()
	for i := range pipes {
		if pipes[i], err = newPipe(); err != nil {
			fmt.Fprintf(r.stderr, "pipe: %s\n", strerror(err))
			r.cleanup()
			return 1
		}
	}
	// take hands a pipe end over to a child: the parent's copy is closed
	// by release once the child has been started.
	take := func(e pipeEnd) *os.File {
		if e.pipe < 0 {
			return nil
		}
		if e.write {
			return pipes[e.pipe][1]
		}
		return pipes[e.pipe][0]
	}
	release := func(ends ...pipeEnd) {
		for _, e := range ends {
			if e.pipe < 0 {
				continue
			}
			k := 0
			if e.write {
				k = 1
			}
			if f := pipes[e.pipe][k]; f != nil {
				f.Close()
				pipes[e.pipe][k] = nil
			}
		}
	}

	// Like the original (which dup2()s pipes over its own stdin/stdout),
	// do not keep the caller's stdin/stdout open while the chain runs.
	devNullStdio()

	var children []started
	var lastCmd *exec.Cmd
	for k, s := range stages {
		w := wires[k]
		stdin, stdout := take(w.stdin), take(w.stdout)
		if s.kind == kindLast && o.noWrap {
			return r.execLast(o, s.argv, stdin, stdout)
		}
		var extra []*os.File
		if s.kind == kindBidir {
			extra = alt.extraFiles(take(w.altIn), take(w.altOut))
		}
		cmd, err := startCommand(s.argv, stdin, stdout, r.childStderr, extra)
		release(w.stdin, w.stdout, w.altIn, w.altOut)
		if err != nil {
			// The original's child would exit(127) silently after a failed
			// execvp; closing the pipe ends has the same effect on the
			// neighbours.
			cmd = nil
		}
		if s.kind == kindLast {
			lastCmd = cmd
		}
		children = append(children, started{cmd: cmd, last: s.kind == kindLast})
	}

	done := make(chan int, 1)
	go func() {
		status := 127 // the last command could not be executed
		for _, c := range children {
			if c.cmd == nil {
				continue
			}
			c.cmd.Wait()
			if c.last {
				status = exitStatus(c.cmd.ProcessState)
			}
		}
		done <- status
	}()

	for {
		select {
		case status := <-done:
			r.cleanup()
			return status
		case sig := <-sigc:
			r.cleanup()
			if lastCmd != nil {
				lastCmd.Process.Signal(syscall.SIGTERM)
			}
			if sig == syscall.SIGTERM {
				// _exit(0): the other commands are left to die from EOF.
				return 0
			}
			return reraise(sig.(syscall.Signal))
		}
	}
}

// reraise restores the default action of sig and sends it to the whole
// process group (dpipe included), like the original's handler, so the
// process normally dies here. The default action is set with a raw
// rt_sigaction because signal.Reset would restore SIG_IGN if sig was
// ignored when the program started (nohup, background jobs of
// non-interactive shells), whereas the original always dies. Should the
// process survive anyway, 128+sig is returned.
func reraise(sig syscall.Signal) int {
	signal.Reset(sig)
	setDefaultAction(sig)
	syscall.Kill(-syscall.Getpgrp(), sig)
	time.Sleep(time.Second)
	return 128 + int(sig)
}

// setDefaultAction sets sig to SIG_DFL behind the Go runtime's back (only
// used right before dying). An all-zero kernel struct sigaction is SIG_DFL
// with no flags and an empty mask on every Linux architecture; 32 bytes
// covers its largest layout (handler, flags, restorer, 64-bit mask).
func setDefaultAction(sig syscall.Signal) {
	var act [4]uint64
	syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act[0])), 0, 8, 0, 0)
}

// exitStatus converts a child's wait status: exit code, or 128+signal.
// (The original uses WEXITSTATUS, i.e. 0 for a signalled child.)
func exitStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// execLast implements -n/-N: the last command replaces dpipe (same pid,
// so the pid file names it), after starting the cleanup helper when pid or
// pgrp files need removing. On failure it behaves like the original's
// exit(127), whose atexit handler removes the files.
func (r *runner) execLast(o options, argv []string, stdin, stdout *os.File) int {
	if o.cleanupNeeded() && len(r.saved) > 0 {
		startCleanupWatcher(os.Getpid(), r.saved, r.childStderr)
	}
	if path, err := lookPath(argv[0]); err == nil && dupOnto(stdin, 0) == nil && dupOnto(stdout, 1) == nil {
		err = syscall.Exec(path, argv, os.Environ())
		if errors.Is(err, syscall.ENOEXEC) {
			syscall.Exec("/bin/sh", append([]string{"/bin/sh", path}, argv[1:]...), os.Environ())
		}
	}
	r.cleanup()
	return 127
}

// dupOnto duplicates f onto descriptor fd (clearing close-on-exec).
func dupOnto(f *os.File, fd int) error {
	src := int(f.Fd())
	if src == fd {
		_, err := fcntl(fd, syscall.F_SETFD, 0)
		return err
	}
	return syscall.Dup3(src, fd, 0)
}

// devNullStdio puts /dev/null on descriptors 0 and 1.
func devNullStdio() {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return
	}
	defer null.Close()
	for fd := 0; fd <= 1; fd++ {
		syscall.Dup3(int(null.Fd()), fd, 0)
	}
}

// startCommand starts argv with the given stdio and extra descriptors
// (entry i becomes fd 3+i), searching PATH like execvp (see lookPath) and,
// again like execvp, running the file with /bin/sh when the kernel reports
// ENOEXEC. The child inherits the environment and the process group.
func startCommand(argv []string, stdin, stdout, stderr *os.File, extra []*os.File) (*exec.Cmd, error) {
	path, err := lookPath(argv[0])
	if err != nil {
		return nil, err
	}
	mk := func(path string, args []string) *exec.Cmd {
		return &exec.Cmd{Path: path, Args: args, Stdin: stdin, Stdout: stdout, Stderr: stderr, ExtraFiles: extra}
	}
	cmd := mk(path, argv)
	err = cmd.Start()
	if errors.Is(err, syscall.ENOEXEC) {
		cmd = mk("/bin/sh", append([]string{"/bin/sh", path}, argv[1:]...))
		err = cmd.Start()
	}
	if err != nil {
		return nil, err
	}
	return cmd, nil
}

// lookPath resolves a command name like glibc's execvp: names containing
// '/' are used as they are; otherwise each PATH entry is tried in order
// (an empty entry is the current directory, an unset PATH is
// "/bin:/usr/bin") and the first executable regular file wins. Unlike
// os/exec.LookPath, a match in a relative PATH entry is accepted.
func lookPath(file string) (string, error) {
	if file == "" {
		return "", syscall.ENOENT
	}
	if strings.Contains(file, "/") {
		return file, nil
	}
	path, ok := os.LookupEnv("PATH")
	if !ok {
		path = "/bin:/usr/bin"
	}
	for _, dir := range strings.Split(path, ":") {
		p := "./" + file
		if dir != "" {
			p = dir + "/" + file
		}
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && syscall.Access(p, 1 /* X_OK */) == nil {
			return p, nil
		}
	}
	return "", syscall.ENOENT
}

// newPipe creates a pipe(2) with close-on-exec ends (children receive only
// the ends handed to them explicitly). The ends stay in blocking mode.
func newPipe() ([2]*os.File, error) {
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		return [2]*os.File{}, err
	}
	return [2]*os.File{os.NewFile(uintptr(p[0]), "|0"), os.NewFile(uintptr(p[1]), "|1")}, nil
}

// strerror renders err like C's strerror() when it carries an errno (Go's
// errno texts are glibc's with a lower-case initial).
func strerror(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err.Error()
	}
	msg := errno.Error()
	if msg != "" && msg[0] >= 'a' && msg[0] <= 'z' {
		msg = string(msg[0]-'a'+'A') + msg[1:]
	}
	return msg
}

func fcntl(fd, cmd, arg int) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), uintptr(cmd), uintptr(arg))
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// altFDs describes the alternate descriptors of the middle commands.
type altFDs struct {
	in, out int
	// kept holds close-on-exec duplicates of inherited descriptors lying
	// between 3 and out, so that they reach the middle commands unchanged
	// (an ExtraFiles slot left nil would close them in the child).
	kept map[int]*os.File
}

// alternateFDs finds the alternate descriptors like the original's
// alternate_fd(): the two lowest descriptors that are free from the
// children's point of view. Descriptors the Go runtime opened are
// close-on-exec and count as free; descriptors inherited from dpipe's caller
// without close-on-exec are passed on to every child and count as used (so
// with fd 3 inherited the alternates are 4 and 5, as with the original).
// The search starts at 3 (the original starts at 0 and misbehaves when
// stdin or stdout is closed).
func alternateFDs() (*altFDs, error) {
	a := &altFDs{in: -1, out: -1, kept: map[int]*os.File{}}
	for fd := 3; a.out < 0; fd++ {
		flags, err := fcntl(fd, syscall.F_GETFD, 0)
		if err != nil || flags&syscall.FD_CLOEXEC != 0 {
			if a.in < 0 {
				a.in = fd
			} else {
				a.out = fd
			}
			continue
		}
		nfd, err := fcntl(fd, syscall.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			a.close()
			return nil, fmt.Errorf("duplicating inherited fd %d: %w", fd, err)
		}
		a.kept[fd] = os.NewFile(uintptr(nfd), "inherited-fd-"+strconv.Itoa(fd))
	}
	return a, nil
}

// extraFiles returns the ExtraFiles of a bidirectional middle command:
// inRead on a.in, outWrite on a.out, inherited descriptors in between kept.
func (a *altFDs) extraFiles(inRead, outWrite *os.File) []*os.File {
	extra := make([]*os.File, a.out-2)
	for fd := 3; fd <= a.out; fd++ {
		switch fd {
		case a.in:
			extra[fd-3] = inRead
		case a.out:
			extra[fd-3] = outWrite
		default:
			extra[fd-3] = a.kept[fd]
		}
	}
	return extra
}

func (a *altFDs) close() {
	for _, f := range a.kept {
		f.Close()
	}
}

// daemonize implements -d: the original's daemon(0,0) forks, the parent
// exits 0 and the child calls setsid(), chdir("/") and moves stdio to
// /dev/null. A Go process cannot fork, so the current binary is
// re-executed with the same arguments, in a new session, in "/", with
// /dev/null stdio and envDaemonChild set; the front-end's Main call in the
// new process then carries on as the daemon.
func daemonize(stderr io.Writer) int {
	cmd := &exec.Cmd{
		Path:        selfExe,
		Args:        os.Args,
		Dir:         "/",
		Env:         append(os.Environ(), envDaemonChild+"=1"),
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "%s daemonize: %s\n", progName, strerror(err))
		return 1
	}
	cmd.Process.Release()
	return 0
}

// startCleanupWatcher starts the -n helper that removes files once process
// pid is gone. The original forks it; here the current binary is
// re-executed with envCleanupWatch. Like the original's helper it is in
// dpipe's process group and does not hold the chain's pipes (its stdin and
// stdout are /dev/null).
func startCleanupWatcher(pid int, files []string, stderr *os.File) {
	val := strconv.Itoa(pid)
	for _, f := range files {
		val += " " + strconv.Quote(f)
	}
	cmd := &exec.Cmd{
		Path:   selfExe,
		Args:   os.Args,
		Env:    append(os.Environ(), envCleanupWatch+"="+val),
		Stderr: stderr,
	}
	if cmd.Start() == nil {
		cmd.Process.Release()
	}
}

// cleanupWatcher is the body of the -n helper: poll the pid named in spec
// every second (kill(pid, 0), as the original) and remove the files when
// it is gone. Like the original's helper, which keeps dpipe's signal
// handlers, SIGINT/SIGHUP/SIGTERM also remove the files (SIGINT/SIGHUP are
// then re-raised to the process group, SIGTERM returns 0).
func cleanupWatcher(spec string) int {
	pidStr, rest, _ := strings.Cut(spec, " ")
	pid, err := strconv.Atoi(pidStr)
	if err != nil || pid <= 0 {
		return 1
	}
	r := &runner{}
	for rest = strings.TrimSpace(rest); rest != ""; rest = strings.TrimSpace(rest) {
		q, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return 1
		}
		name, _ := strconv.Unquote(q)
		r.saved = append(r.saved, name)
		rest = rest[len(q):]
	}
	signal.Ignore(ignoredSignals...)
	sigc := make(chan os.Signal, 4)
	signal.Notify(sigc, terminatingSignals...)
	defer signal.Stop(sigc)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for syscall.Kill(pid, 0) == nil {
		select {
		case <-tick.C:
		case sig := <-sigc:
			r.cleanup()
			if sig == syscall.SIGTERM {
				return 0
			}
			return reraise(sig.(syscall.Signal))
		}
	}
	r.cleanup()
	return 0
}
