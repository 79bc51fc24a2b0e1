// Package cmd is the cmd:// module: an endpoint that runs a command and
// talks to it through its standard input and output with the vdestream
// framing (2-byte big-endian length + frame), like vdeplug4's
// libvdeplug_cmd (spec vdeplug-and-tools.md §2.8). Typical use:
//
//	vde_plug vde:///tmp/sw 'cmd://ssh host vde_plug vxvde://'
//
// The argument is split into argv as libexecs' s2argv does (see Argv) and
// run with a PATH search; the child's standard error stays the caller's.
// When the child exits the endpoint ends: ReadBatch delivers what the child
// wrote, then io.EOF (even if a grandchild still holds the pipe). Close
// closes the pipes, sends the child SIGTERM (which vdeplug4 means to do but
// does not, its kill() arguments being swapped) and reaps it, with SIGKILL
// if it lingers. The child runs in its own process group, and the signals
// go to the group, so nothing it started outlives the endpoint.
package cmd

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/internal/openerr"
	"github.com/govde/govde/transports/stream"
	"github.com/govde/govde/transports/vnl"
)

// DefaultMaxFrame is the longest frame sent to or accepted from the child
// unless Args.MaxFrame says otherwise: vdeplug4's VDE_ETHBUFSIZE, which a
// child that is a real vde_plug accepts. Raise it (up to 65535, the most
// the 2-byte length can say) for a govde child carrying jumbo frames.
const DefaultMaxFrame = 9234

// drainTime is how long reading goes on after the child exited, for what
// it wrote before exiting, when a grandchild keeps the pipe open.
const drainTime = 200 * time.Millisecond

// killTime is how long Close waits after SIGTERM before SIGKILL.
const killTime = 2 * time.Second

// Endpoint is a running cmd:// child. It implements transports.Endpoint
// (writes block when the child does not read: backpressure) and
// transports.DropCounter; see stream.Endpoint for the concurrency rules.
type Endpoint struct {
	*stream.Endpoint
	cmd       *exec.Cmd
	exited    chan struct{}
	closeOnce sync.Once
}

// Open is the cmd module's vnl.Opener: cmd://COMMAND. a.MaxFrame (default
// DefaultMaxFrame) bounds the frames in both directions. It is not
// registered by this package.
func Open(arg string, a vnl.Args) (transports.Endpoint, error) {
	e, err := Start(Argv(arg), a.MaxFrame, "cmd://"+arg)
	if err != nil {
		return nil, err
	}
	return e, nil
}

// Start runs argv with pipes on its standard input and output.
func Start(argv []string, maxFrame int, descr string) (*Endpoint, error) {
	if len(argv) == 0 || argv[0] == "" {
		return nil, openerr.New(syscall.EINVAL, "empty command: the syntax is cmd://COMMAND [ARGS…]")
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		errno := syscall.ENOENT
		if errors.Is(err, os.ErrPermission) {
			errno = syscall.EACCES
		}
		return nil, openerr.New(errno, "cannot run %s: %v", argv[0], unwrapExec(err))
	}
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	// Our ends are pollable pipes: Close unblocks a pending Read, and a read
	// deadline can end the reading after the child exited.
	childIn, toChild, err := os.Pipe()
	if err != nil {
		return nil, openerr.New(openerr.Errno(err, syscall.EMFILE), "pipe: %v", err)
	}
	fromChild, childOut, err := os.Pipe()
	if err != nil {
		childIn.Close()
		toChild.Close()
		return nil, openerr.New(openerr.Errno(err, syscall.EMFILE), "pipe: %v", err)
	}
	// Its own process group, so that Close ends whatever it started too.
	c := &exec.Cmd{Path: path, Args: argv, Stdin: childIn, Stdout: childOut, Stderr: os.Stderr,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true}}
	err = c.Start()
	childIn.Close()
	childOut.Close()
	if err != nil {
		toChild.Close()
		fromChild.Close()
		return nil, openerr.New(openerr.Errno(err, syscall.ENOEXEC), "cannot run %s: %v", argv[0], unwrapExec(err))
	}
	e := &Endpoint{cmd: c, exited: make(chan struct{})}
	e.Endpoint = stream.New(eofReader{fromChild}, toChild, stream.Options{MaxFrame: maxFrame, Describe: descr,
		Closer: pipes{toChild, fromChild}})
	go func() {
		c.Wait()
		close(e.exited)
		// Let the reader take what the child wrote, then end it even if a
		// grandchild still holds the pipe.
		fromChild.SetReadDeadline(time.Now().Add(drainTime))
	}()
	return e, nil
}

func unwrapExec(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Pid returns the child's process id.
func (e *Endpoint) Pid() int { return e.cmd.Process.Pid }

// Exited is closed when the child has exited.
func (e *Endpoint) Exited() <-chan struct{} { return e.exited }

// ExitCode returns the child's exit status, or -1 while it runs (or when a
// signal ended it).
func (e *Endpoint) ExitCode() int {
	select {
	case <-e.exited:
		return e.cmd.ProcessState.ExitCode()
	default:
		return -1
	}
}

// Close closes the pipes, then ends and reaps the child: SIGTERM to its
// process group, and SIGKILL to the group if the child is still there
// after two seconds. A child that already exited is only reaped (Close
// does not signal a group it may no longer own). It is safe to call more
// than once and from any goroutine; it returns once the child is gone.
func (e *Endpoint) Close() error {
	e.closeOnce.Do(func() {
		e.Endpoint.Close()
		select {
		case <-e.exited:
			return
		default:
		}
		pgid := e.cmd.Process.Pid
		syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-e.exited:
		case <-time.After(killTime):
			syscall.Kill(-pgid, syscall.SIGKILL)
			<-e.exited
		}
	})
	return nil
}

// eofReader turns the read deadline set after the child's exit into io.EOF.
type eofReader struct{ f *os.File }

func (r eofReader) Read(p []byte) (int, error) {
	n, err := r.f.Read(p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = io.EOF
	}
	return n, err
}

type pipes [2]*os.File

func (p pipes) Close() error {
	p[0].Close()
	p[1].Close()
	return nil
}
