package netnode

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	node "github.com/govde/govde/actors/netnode"
	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/vde2"
	"github.com/govde/govde/transports/vnl"
)

func open(t *testing.T, kind node.Kind, arg string) *Endpoint {
	t.Helper()
	ep, err := Opener(kind)(arg, vnl.Args{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	return ep.(*Endpoint)
}

func dial(t *testing.T, dir, portgroup string) *vde2.Client {
	t.Helper()
	c, err := vde2.Dial(vde2.ClientConfig{Path: dir, PortGroup: portgroup, Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func eth(dst byte, src byte, payload string) []byte {
	f := []byte{2, 0, 0, 0, 0, dst, 2, 0, 0, 0, 0, src, 0x08, 0x00}
	if dst == 0xff {
		copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	}
	return append(f, payload...)
}

func send(t *testing.T, e transports.Endpoint, p []byte) {
	t.Helper()
	b := frames.GetBatch()
	b.Add(frames.GetCopy(p))
	defer b.Release()
	if err := e.WriteBatch(b); err != nil {
		t.Fatal(err)
	}
}

func recv(t *testing.T, e transports.Endpoint, want []byte) {
	t.Helper()
	b := frames.GetBatch()
	defer b.Release()
	done := make(chan error, 1)
	go func() { done <- e.ReadBatch(b) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(3 * time.Second):
		t.Fatalf("%s: nothing received", e.Describe())
	}
	if b.N != 1 || !bytes.Equal(b.Frames[0].Bytes(), want) {
		t.Fatalf("%s: got %d frames, first %q; want %q", e.Describe(), b.N, b.Frames[0].Bytes(), want)
	}
}

func TestDirectoryAndClients(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sw")
	e := open(t, node.Switch, dir+"[mode=0660]")
	st, err := os.Stat(dir)
	if err != nil || st.Mode()&os.ModePerm != 0770 || st.Mode()&os.ModeSetgid == 0 {
		t.Fatalf("directory %v %v, want 02770", st.Mode(), err)
	}
	if st, err := os.Stat(dir + "/ctl"); err != nil || st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != 0660 {
		t.Fatalf("ctl %v %v", st.Mode(), err)
	}
	if e.Describe() != "switch://"+dir || e.MaxFrame() != DefaultMaxFrame || e.Dir() != dir {
		t.Fatalf("describe %q max %d", e.Describe(), e.MaxFrame())
	}
	a, b := dial(t, dir, ""), dial(t, dir, "")
	send(t, a, eth(0xff, 0xa, "from a"))
	recv(t, e, eth(0xff, 0xa, "from a"))
	recv(t, b, eth(0xff, 0xa, "from a"))
	send(t, e, eth(0xa, 1, "host to a"))
	recv(t, a, eth(0xa, 1, "host to a"))
	s, err := e.Node().Stats()
	if err != nil || len(s.Clients) != 2 || s.Kind != node.Switch {
		t.Fatalf("stats %+v %v", s, err)
	}
	// A second node on the same path fails as vdeplug does.
	if _, err := Opener(node.Hub)(dir, vnl.Args{}); !errors.Is(err, syscall.EEXIST) {
		t.Fatalf("second node: %v", err)
	}
	// Closing the node ends the clients and removes the directory.
	e.Close()
	select {
	case <-a.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("client not told")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("directory left behind: %v", err)
	}
}

// vdeplug's netnodes never answer a port-0 request; ours do.
func TestPort0Answered(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "h")
	e := open(t, node.Hub, dir)
	c := dial(t, dir, "0")
	send(t, c, eth(0xff, 0xc, "port 0 client"))
	recv(t, e, eth(0xff, 0xc, "port 0 client"))
	send(t, e, eth(0xff, 1, "to port 0"))
	recv(t, c, eth(0xff, 1, "to port 0"))
}

// A control connection that sends nothing valid and closes costs nothing
// afterwards (vdeplug's netnode spins on it), and bad requests do not
// disturb the clients.
func TestHalfOpenControl(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "h")
	var mu sync.Mutex
	var logs []string
	cfg, err := ParseVNL(node.Hub, dir, vnl.Args{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logf = func(f string, a ...any) {
		mu.Lock()
		logs = append(logs, fmt.Sprintf(f, a...))
		mu.Unlock()
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	a := dial(t, dir, "")
	base := runtime.NumGoroutine()
	for i := 0; i < 10; i++ {
		c, err := net.Dial("unix", dir+"/ctl")
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 {
			c.Write([]byte("garbage, not a request"))
		}
		c.Close()
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		mu.Lock()
		n := len(logs)
		mu.Unlock()
		if n >= 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d log lines, want one per bad connection", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left for closed connections (base %d)", runtime.NumGoroutine(), base)
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	if len(logs) != 10 || !strings.HasPrefix(logs[0], "hub://"+dir+": ") {
		t.Errorf("log lines %q, want one per bad connection", logs)
	}
	mu.Unlock()
	b := dial(t, dir, "")
	send(t, a, eth(0xff, 0xa, "still works"))
	recv(t, b, eth(0xff, 0xa, "still works"))
	recv(t, e, eth(0xff, 0xa, "still works"))
}

func TestJumbo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "h")
	ep, err := Opener(node.Hub)(dir, vnl.Args{MaxFrame: 65535})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	c, err := vde2.Dial(vde2.ClientConfig{Path: dir, MaxFrame: 65535})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	big := eth(0xff, 0xa, string(bytes.Repeat([]byte("j"), 60000)))
	send(t, c, big)
	recv(t, ep, big)
	send(t, ep, big)
	recv(t, c, big)
}

func TestCloseUnblocksRead(t *testing.T) {
	e := open(t, node.Bonding, filepath.Join(t.TempDir(), "b"))
	done := make(chan error, 1)
	go func() {
		b := frames.GetBatch()
		done <- e.ReadBatch(b)
		b.Release()
	}()
	time.Sleep(20 * time.Millisecond)
	e.Close()
	select {
	case err := <-done:
		if !errors.Is(err, transports.ErrClosed) {
			t.Fatalf("ReadBatch: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Close did not unblock ReadBatch")
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
