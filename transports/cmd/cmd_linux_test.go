package cmd

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/memtest"
	"github.com/govde/govde/transports/vnl"
)

func open(t *testing.T, arg string, max int) *Endpoint {
	t.Helper()
	ep, err := Open(arg, vnl.Args{MaxFrame: max})
	if err != nil {
		t.Fatal(err)
	}
	e := ep.(*Endpoint)
	t.Cleanup(func() { e.Close() })
	return e
}

func eth(n int, seed byte) []byte {
	f := make([]byte, n)
	copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, seed, 0x88, 0xb5})
	for i := 14; i < n; i++ {
		f[i] = seed ^ byte(i)
	}
	return f
}

// readUntil reads frames until n arrived or the endpoint ends.
func readUntil(t *testing.T, e transports.Endpoint, n int) ([][]byte, error) {
	t.Helper()
	got, err := memtest.ReadFrames(e, n, 5*time.Second)
	if err == memtest.ErrTimeout {
		t.Fatal("read timed out")
	}
	return got, err
}

// cat echoes the framed stream: frames come back intact, jumbo ones too
// when the limit allows them.
func TestEchoThroughCat(t *testing.T) {
	e := open(t, "cat", 65535)
	if e.MaxFrame() != 65535 || e.Describe() != "cmd://cat" {
		t.Fatalf("max %d describe %q", e.MaxFrame(), e.Describe())
	}
	sizes := []int{60, 1514, 9014, 65535}
	w := frames.GetBatch()
	for i, n := range sizes {
		w.Add(frames.GetCopy(eth(n, byte(i))))
	}
	go func() { e.WriteBatch(w); w.Release() }()
	got, err := readUntil(t, e, len(sizes))
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range sizes {
		if !bytes.Equal(got[i], eth(n, byte(i))) {
			t.Fatalf("frame %d: %d bytes back", i, len(got[i]))
		}
	}
}

// The default limit is vdeplug's: bigger frames are not sent.
func TestDefaultLimit(t *testing.T) {
	e := open(t, "cat", 0)
	if e.MaxFrame() != DefaultMaxFrame {
		t.Fatalf("max %d", e.MaxFrame())
	}
	w := frames.GetBatch()
	w.Add(frames.GetCopy(eth(DefaultMaxFrame+1, 1)))
	w.Add(frames.GetCopy(eth(DefaultMaxFrame, 2)))
	if err := e.WriteBatch(w); err != nil {
		t.Fatal(err)
	}
	w.Release()
	got, err := readUntil(t, e, 1)
	if err != nil || len(got) != 1 || !bytes.Equal(got[0], eth(DefaultMaxFrame, 2)) {
		t.Fatalf("got %d frames, %v", len(got), err)
	}
	if wd, _ := e.Drops(); wd != 1 {
		t.Fatalf("write drops %d", wd)
	}
}

// What the child wrote before exiting arrives, then the end, also when a
// grandchild keeps the pipe open.
func TestChildExitEnds(t *testing.T) {
	for _, c := range []string{
		`printf '\000\016abcdefghijklmn'`,
		`sleep 2 2>/dev/null & printf '\000\016abcdefghijklmn'`,
	} {
		e := open(t, `sh -c "`+c+`"`, 0)
		start := time.Now()
		got, err := readUntil(t, e, 2)
		if err != io.EOF || len(got) != 1 || string(got[0]) != "abcdefghijklmn" {
			t.Fatalf("%s: %q, %v", c, got, err)
		}
		if d := time.Since(start); d > 1500*time.Millisecond {
			t.Fatalf("%s: the end came after %v", c, d)
		}
		<-e.Exited()
		if e.ExitCode() != 0 {
			t.Fatalf("%s: exit %d", c, e.ExitCode())
		}
	}
}

// Close ends a child that would not stop by itself, even one that ignores
// SIGTERM.
func TestCloseEndsChild(t *testing.T) {
	before := runtime.NumGoroutine()
	defer func() {
		// The endpoint's watcher goroutine is gone with the child.
		for deadline := time.Now().Add(2 * time.Second); runtime.NumGoroutine() > before; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Errorf("goroutines: %d before, %d after", before, runtime.NumGoroutine())
				return
			}
		}
	}()
	for _, c := range []string{"sleep 30", `sh -c "trap '' TERM; printf '\000\016abcdefghijklmn'; sleep 30"`} {
		e := open(t, c, 0)
		if c != "sleep 30" {
			readUntil(t, e, 1) // the trap is set
		}
		done := make(chan struct{})
		go func() { e.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(killTime + 3*time.Second):
			t.Fatalf("%s: Close hangs", c)
		}
		select {
		case <-e.Exited():
		default:
			t.Fatalf("%s: child still running after Close", c)
		}
		b := frames.GetBatch()
		if err := e.ReadBatch(b); err != transports.ErrClosed {
			t.Fatalf("%s: ReadBatch after Close: %v", c, err)
		}
		b.Release()
	}
}

func TestOpenErrors(t *testing.T) {
	for arg, want := range map[string]struct {
		errno syscall.Errno
		text  string
	}{
		"":                   {syscall.EINVAL, "Invalid argument: empty command: the syntax is cmd://COMMAND [ARGS…]"},
		"  ; ls":             {syscall.EINVAL, "Invalid argument: empty command: the syntax is cmd://COMMAND [ARGS…]"},
		"no-such-command-xy": {syscall.ENOENT, "No such file or directory: cannot run no-such-command-xy: executable file not found in $PATH"},
		"/etc/passwd":        {syscall.EACCES, "Permission denied: cannot run /etc/passwd: permission denied"},
	} {
		_, err := Open(arg, vnl.Args{})
		if !errors.Is(err, want.errno) || err.Error() != want.text {
			t.Errorf("%q: %v, want %q", arg, err, want.text)
		}
	}
}
