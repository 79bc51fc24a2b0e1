package vswitch

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/govde/govde/actors/fabric"
	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports/vde2"
)

func countFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func settle(cond func() bool) bool {
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// 200 clients attach at once, exchange a frame, then all detach: the switch
// ends with no leaked goroutines, file descriptors or socket files, and it
// has seen every client on its own port.
func TestManyPlugsNoLeaks(t *testing.T) {
	const n = 200
	dir := filepath.Join(t.TempDir(), "sw")
	baseG, baseFD := runtime.NumGoroutine(), countFDs(t)
	sw := New(fabric.Config{NumPorts: n + 1, Logf: t.Logf})
	if err := sw.Listen(vde2.DefaultServerConfig(dir)); err != nil {
		t.Fatal(err)
	}
	clients := make([]*vde2.Client, n)
	errs := make(chan error, n)
	for i := range clients {
		go func(i int) {
			c, err := vde2.Dial(vde2.ClientConfig{Path: dir})
			clients[i] = c
			errs <- err
		}(i)
	}
	for range clients {
		if err := <-errs; err != nil {
			t.Fatalf("dial: %v", err)
		}
	}
	st, err := sw.Stats()
	if err != nil {
		t.Fatal(err)
	}
	active := 0
	for _, p := range st.Ports {
		if p.Active {
			active++
		}
	}
	if active != n {
		t.Fatalf("%d active ports, want %d", active, n)
	}
	// one broadcast from the first client reaches the last one
	b := frames.GetBatch()
	f := frames.GetCopy(append(append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 2, 0, 0, 0, 0, 1), 8, 0, 'h', 'i'))
	b.Add(f)
	if err := clients[0].WriteBatch(b); err != nil {
		t.Fatal(err)
	}
	b.Release()
	rb := frames.GetBatch()
	done := make(chan error, 1)
	go func() { done <- clients[n-1].ReadBatch(rb) }()
	select {
	case err := <-done:
		if err != nil || rb.N != 1 {
			t.Fatalf("read: %v, %d frames", err, rb.N)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("broadcast did not arrive")
	}
	rb.Release()
	for _, c := range clients {
		c.Close()
	}
	if !settle(func() bool {
		st, _ := sw.Stats()
		for _, p := range st.Ports {
			if p.Active {
				return false
			}
		}
		return true
	}) {
		t.Fatal("ports still active after every client closed")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != "ctl" {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("files left in the switch directory: %v", names)
	}
	sw.Close()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatal("switch directory not removed")
	}
	if !settle(func() bool { return runtime.NumGoroutine() <= baseG && countFDs(t) <= baseFD }) {
		buf := make([]byte, 1<<16)
		t.Fatalf("leak: goroutines %d (before %d), fds %d (before %d)\n%s",
			runtime.NumGoroutine(), baseG, countFDs(t), baseFD, buf[:runtime.Stack(buf, true)])
	}
}
