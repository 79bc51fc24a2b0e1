// Package interop runs govde's binaries against the real VDE tools (Debian
// vde2 2.3.2 / vdeplug 4.0.1) in both directions. Everything uses unix
// sockets in private temp dirs; every process started is ended by its PID.
package interop

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ours is the directory holding our vde binary and its classic-name links.
var ours string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "govde-interop-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "vde"), "../cmd/vde")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
	for _, n := range []string{"vde_switch", "vde_plug", "dpipe"} {
		os.Symlink("vde", filepath.Join(dir, n))
	}
	ours = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// bin returns our classic-name binary.
func bin(name string) string { return filepath.Join(ours, name) }

// real returns the path of a real VDE tool, failing (CI=true) or skipping
// the test when it is not installed.
func real(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed (run `make deps` as root)", name)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// proc is a process the test started; Stop ends it by PID.
type proc struct {
	cmd    *exec.Cmd
	stderr *syncBuf
	stdin  io.WriteCloser
	done   chan struct{}
	err    error
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func start(t *testing.T, argv ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(argv[0], argv[1:]...), stderr: &syncBuf{}, done: make(chan struct{})}
	p.cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", argv, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(p.Stop)
	return p
}

// Stop sends SIGTERM, then SIGKILL if the process lingers.
func (p *proc) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// Wait waits for the process to exit and returns its status.
func (p *proc) Wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		t.Fatalf("%v still running after %v; stderr: %s", p.cmd.Args, d, p.stderr)
	}
	return p.cmd.ProcessState.ExitCode()
}

// switchProc starts a switch (ours or the real one) on a new directory with
// its stdin console held open by us.
func switchProc(t *testing.T, exe string, args ...string) (string, *proc) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "sw")
	p := start(t, append([]string{exe, "-s", dir}, args...)...)
	waitFor(t, func() bool { _, err := os.Stat(filepath.Join(dir, "ctl")); return err == nil }, "switch ctl socket")
	return dir, p
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// plug is a vde_plug in stdio mode speaking the 2-byte length framing.
type plug struct {
	*proc
	out    io.ReadCloser
	frames chan []byte
	// skipBPDU drops spanning-tree frames (dst 01:80:c2:00:00:00) that a
	// switch with FSTP sends every member port.
	skipBPDU bool
}

func startPlug(t *testing.T, argv ...string) *plug {
	t.Helper()
	return startPlugOpt(t, false, argv...)
}

// startPlugOpt starts a plug; skipBPDU drops spanning-tree frames.
func startPlugOpt(t *testing.T, skipBPDU bool, argv ...string) *plug {
	t.Helper()
	return startPlugCmd(t, exec.Command(argv[0], argv[1:]...), skipBPDU, 4096)
}

// startPlugCmd starts a stream-mode plug from a prepared command (extra
// files, environment): frames it writes on stdout arrive on p.frames (a
// queue of depth frames); skipBPDU drops spanning-tree frames.
func startPlugCmd(t *testing.T, cmd *exec.Cmd, skipBPDU bool, depth int) *plug {
	t.Helper()
	p := &plug{proc: &proc{cmd: cmd, stderr: &syncBuf{}, done: make(chan struct{})}, frames: make(chan []byte, depth), skipBPDU: skipBPDU}
	cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if p.out, err = cmd.StdoutPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", cmd.Args, err)
	}
	go func() {
		r := bufio.NewReader(p.out)
		var hdr [2]byte
		for {
			if _, err := io.ReadFull(r, hdr[:]); err != nil {
				break
			}
			f := make([]byte, binary.BigEndian.Uint16(hdr[:]))
			if _, err := io.ReadFull(r, f); err != nil {
				break
			}
			if p.skipBPDU && len(f) >= 6 && string(f[:6]) == "\x01\x80\xc2\x00\x00\x00" {
				continue
			}
			p.frames <- f
		}
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.Stop)
	return p
}

func (p *plug) send(t *testing.T, f []byte) {
	t.Helper()
	var hdr [2]byte
	binary.BigEndian.PutUint16(hdr[:], uint16(len(f)))
	if _, err := p.stdin.Write(append(hdr[:], f...)); err != nil {
		t.Fatalf("write to plug: %v (stderr %s)", err, p.stderr)
	}
}

// recv returns the next frame or nil after d.
func (p *plug) recv(d time.Duration) []byte {
	select {
	case f := <-p.frames:
		return f
	case <-time.After(d):
		return nil
	}
}

// expect checks the next frame equals want.
func (p *plug) expect(t *testing.T, name string, want []byte) {
	t.Helper()
	got := p.recv(3 * time.Second)
	if !bytes.Equal(got, want) {
		t.Fatalf("%s got % x, want % x", name, got, want)
	}
}

// quiet checks that nothing arrives for a while.
func (p *plug) quiet(t *testing.T, name string) {
	t.Helper()
	if got := p.recv(200 * time.Millisecond); got != nil {
		t.Fatalf("%s unexpectedly got % x", name, got)
	}
}

func mac(b byte) []byte { return []byte{2, 0, 0, 0, 0, b} }

var bcast = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

func eth(dst, src []byte, payload string) []byte {
	f := append(append(append([]byte{}, dst...), src...), 0x08, 0x00)
	return append(f, payload...)
}

// waitPorts waits until n endpoints are attached to the switch in dir (the
// data socket files NNN.ID).
func waitPorts(t *testing.T, dir string, n int) {
	t.Helper()
	waitFor(t, func() bool {
		ents, _ := os.ReadDir(dir)
		c := 0
		for _, e := range ents {
			if name := e.Name(); len(name) > 4 && name[3] == '.' {
				if _, err := strconv.Atoi(name[:3]); err == nil {
					c++
				}
			}
		}
		return c >= n
	}, fmt.Sprintf("%d endpoints in %s", n, dir))
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
