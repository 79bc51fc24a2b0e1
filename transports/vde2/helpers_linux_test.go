package vde2

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/govde/govde/frames"
)

// needBin returns the path of a real VDE binary; missing binaries skip the
// test, or fail it when CI=true.
func needBin(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed (CI=true): %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return p
}

// tempDir returns a private directory with a short path (sun_path is 108
// bytes).
func tempDir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("", "vde2t")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// logger collects log lines.
type logger struct {
	mu    sync.Mutex
	lines []string
	t     testing.TB
}

func newLogger(t testing.TB) *logger { return &logger{t: t} }

func (l *logger) logf(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	l.mu.Lock()
	l.lines = append(l.lines, s)
	l.mu.Unlock()
}

func (l *logger) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

func (l *logger) count(substr string) int {
	n := 0
	for _, s := range l.all() {
		if strings.Contains(s, substr) {
			n++
		}
	}
	return n
}

// waitFor waits until a line containing substr has been logged.
func (l *logger) waitFor(t testing.TB, substr string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if l.count(substr) > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no log line containing %q within %v; log: %q", substr, d, l.all())
}

// hub is a test Attacher: ports 1..numPorts-1 (or the requested one, or 0),
// every frame read from an endpoint is written to all the others.
type hub struct {
	numPorts int
	mu       sync.Mutex
	eps      map[*Endpoint]int
	attached int
	detached map[*Endpoint]int
	wg       sync.WaitGroup
	refuse   error
}

func newHub() *hub {
	return &hub{numPorts: 32, eps: map[*Endpoint]int{}, detached: map[*Endpoint]int{}}
}

func (h *hub) Attach(req Request, ep *Endpoint) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.refuse != nil {
		return 0, h.refuse
	}
	port := req.Port
	switch {
	case req.Type == ReqNewPort0:
		port = 0
	case port == 0:
		used := map[int]bool{}
		for _, p := range h.eps {
			used[p] = true
		}
		for port = 1; used[port]; port++ {
		}
	}
	if port < 0 || port >= h.numPorts {
		return 0, fmt.Errorf("port %d out of range", port)
	}
	h.eps[ep] = port
	h.attached++
	h.wg.Add(1)
	go h.relay(ep)
	return port, nil
}

func (h *hub) relay(ep *Endpoint) {
	defer h.wg.Done()
	b := frames.GetBatch()
	defer b.Release()
	for {
		if err := ep.ReadBatch(b); err != nil {
			return
		}
		h.mu.Lock()
		for o := range h.eps {
			if o != ep {
				o.WriteBatch(b)
			}
		}
		h.mu.Unlock()
		b.ReleaseFrames()
	}
}

func (h *hub) Detach(ep *Endpoint) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.eps, ep)
	h.detached[ep]++
}

func (h *hub) counts() (attached, detached, open int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range h.detached {
		detached += n
	}
	return h.attached, detached, len(h.eps)
}

// startServer listens on dir with a hub and serves until the test ends.
func startServer(t testing.TB, cfg ServerConfig, att Attacher, log *logger) *Server {
	t.Helper()
	s, err := Listen(cfg, att, log.logf)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s
}

// vdePlug is a real `vde_plug VNL` in stdio mode: frames on stdin/stdout
// with a 2-byte big-endian length prefix.
type vdePlug struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    chan []byte
	stderr *bytes.Buffer
	exited chan struct{}
}

func startVdePlug(t testing.TB, vnl string) *vdePlug {
	t.Helper()
	bin := needBin(t, "vde_plug")
	cmd := exec.Command(bin, vnl)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &vdePlug{cmd: cmd, stdin: stdin, out: make(chan []byte, 1024), stderr: &bytes.Buffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		r := bufio.NewReader(stdout)
		var hdr [2]byte
		for {
			if _, err := io.ReadFull(r, hdr[:]); err != nil {
				break
			}
			f := make([]byte, binary.BigEndian.Uint16(hdr[:]))
			if _, err := io.ReadFull(r, f); err != nil {
				break
			}
			p.out <- f
		}
		cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { p.stop() })
	return p
}

func (p *vdePlug) send(t testing.TB, f []byte) {
	t.Helper()
	buf := make([]byte, 2+len(f))
	binary.BigEndian.PutUint16(buf, uint16(len(f)))
	copy(buf[2:], f)
	if _, err := p.stdin.Write(buf); err != nil {
		t.Fatalf("vde_plug stdin: %v (stderr %q)", err, p.stderr.String())
	}
}

func (p *vdePlug) recv(t testing.TB, d time.Duration) []byte {
	t.Helper()
	select {
	case f := <-p.out:
		return f
	case <-time.After(d):
		t.Fatalf("vde_plug: no frame within %v", d)
		return nil
	}
}

func (p *vdePlug) stop() {
	p.stdin.Close()
	select {
	case <-p.exited:
		return
	case <-time.After(2 * time.Second):
	}
	p.cmd.Process.Kill() // our own child, by PID
	<-p.exited
}

// realSwitch is a real vde_switch on a directory, its console stdin held
// open by a pipe we own.
type realSwitch struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *syncBuffer
	exited chan struct{}
	dir    string
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startRealSwitch(t testing.TB, dir string, args ...string) *realSwitch {
	t.Helper()
	bin := needBin(t, "vde_switch")
	cmd := exec.Command(bin, append([]string{"-s", dir}, args...)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	sw := &realSwitch{cmd: cmd, stdin: stdin, out: &syncBuffer{}, exited: make(chan struct{}), dir: dir}
	cmd.Stdout, cmd.Stderr = sw.out, sw.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(sw.exited) }()
	t.Cleanup(sw.kill)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if c, err := net.Dial("unix", filepath.Join(dir, "ctl")); err == nil {
			c.Close()
			break
		}
		select {
		case <-sw.exited:
			t.Fatalf("vde_switch exited: %s", sw.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("vde_switch did not create %s/ctl: %s", dir, sw.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return sw
}

// command sends one console command on the switch's stdin.
func (s *realSwitch) command(t testing.TB, cmd string) {
	t.Helper()
	if _, err := io.WriteString(s.stdin, cmd+"\n"); err != nil {
		t.Fatal(err)
	}
}

func (s *realSwitch) kill() {
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM) // our own child, by PID
	select {
	case <-s.exited:
	case <-time.After(2 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// countFDs counts this process's open fds.
func countFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// expectEOF reads from c until EOF, failing if something else happens
// within d.
func expectEOF(t testing.TB, c net.Conn, d time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	var buf [512]byte
	for {
		n, err := c.Read(buf[:])
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("want EOF, got %v", err)
		}
		if n > 0 {
			t.Fatalf("want EOF, got %d bytes", n)
		}
	}
}

// testFrame returns a broadcast frame of n bytes with a recognisable body.
func testFrame(n int, seed byte) []byte {
	f := make([]byte, n)
	for i := range f {
		f[i] = seed ^ byte(i*13)
	}
	copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, seed, 0x08, 0x00})
	return f
}

// batchOf wraps copies of frames in a batch.
func batchOf(fs ...[]byte) *frames.Batch {
	b := frames.GetBatch()
	for _, f := range fs {
		b.Add(frames.GetCopy(f))
	}
	return b
}

// readFrame reads one batch from ep within d and returns its frames' bytes.
func readFrames(t testing.TB, ep interface{ ReadBatch(*frames.Batch) error }, want int, d time.Duration) [][]byte {
	t.Helper()
	var got [][]byte
	deadline := time.After(d)
	type res struct {
		fs  [][]byte
		err error
	}
	for len(got) < want {
		ch := make(chan res, 1)
		go func() {
			b := frames.GetBatch()
			defer b.Release()
			err := ep.ReadBatch(b)
			var fs [][]byte
			for _, f := range b.Slice() {
				fs = append(fs, append([]byte(nil), f.Bytes()...))
			}
			ch <- res{fs, err}
		}()
		select {
		case r := <-ch:
			if r.err != nil {
				t.Fatalf("ReadBatch: %v (after %d frames)", r.err, len(got))
			}
			got = append(got, r.fs...)
		case <-deadline:
			t.Fatalf("only %d of %d frames within %v", len(got), want, d)
		}
	}
	return got
}
