package cryptcab

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/govde/govde/frames"
)

// testTiming makes the protocol's timers short enough for tests.
var testTiming = Timing{
	Keepalive:        200 * time.Millisecond,
	SessionTimeout:   2 * time.Second,
	HandshakeRetry:   100 * time.Millisecond,
	HandshakeTimeout: 2 * time.Second,
}

func newTestPSK(t testing.TB) PSK {
	t.Helper()
	var b [32]byte
	rand.Read(b[:])
	p, err := NewPSK(b[:])
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// logBuf collects log lines of a client or server.
type logBuf struct {
	mu    sync.Mutex
	lines []string
}

func (l *logBuf) logf(format string, args ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func startServer(t testing.TB, cfg ServerConfig) *Server {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Timing == (Timing{}) {
		cfg.Timing = testTiming
	}
	s, err := Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func dial(t testing.TB, cfg ClientConfig) *Client {
	t.Helper()
	c, err := dialErr(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func dialErr(cfg ClientConfig) (*Client, error) {
	if cfg.Timing == (Timing{}) {
		cfg.Timing = testTiming
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return Dial(ctx, cfg)
}

func accept(t testing.TB, s *Server) *Session {
	t.Helper()
	type res struct {
		s   *Session
		err error
	}
	ch := make(chan res, 1)
	go func() { x, err := s.Accept(); ch <- res{x, err} }()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatal(r.err)
		}
		t.Cleanup(func() { r.s.Close() })
		return r.s
	case <-time.After(5 * time.Second):
		t.Fatal("no session accepted")
	}
	return nil
}

// frame returns an Ethernet frame whose payload carries tag and is
// filled with random bytes up to size.
func frame(size int, tag string) []byte {
	f := make([]byte, size)
	copy(f, []byte{0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00})
	rand.Read(f[14:])
	copy(f[14:], tag)
	return f
}

// send writes the frames in one batch.
func send(t testing.TB, ep interface{ WriteBatch(*frames.Batch) error }, fs ...[]byte) {
	t.Helper()
	b := frames.GetBatch()
	defer b.Release()
	for _, f := range fs {
		b.Add(frames.GetCopy(f))
	}
	if err := ep.WriteBatch(b); err != nil {
		t.Fatal(err)
	}
}

// reader collects the frames an endpoint reads, in a goroutine.
type reader struct {
	ch   chan []byte
	done chan error
}

func readAll(ep interface{ ReadBatch(*frames.Batch) error }) *reader {
	r := &reader{ch: make(chan []byte, 100000), done: make(chan error, 1)}
	go func() {
		b := frames.GetBatch()
		defer b.Release()
		for {
			if err := ep.ReadBatch(b); err != nil {
				r.done <- err
				return
			}
			for _, f := range b.Slice() {
				r.ch <- append([]byte(nil), f.Bytes()...)
			}
			b.ReleaseFrames()
		}
	}()
	return r
}

func (r *reader) expect(t testing.TB, what string, want ...[]byte) {
	t.Helper()
	for i, w := range want {
		select {
		case got := <-r.ch:
			if !bytes.Equal(got, w) {
				t.Fatalf("%s: frame %d differs: got %d bytes % x…, want %d bytes % x…", what, i, len(got), head(got), len(w), head(w))
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: frame %d of %d not received", what, i, len(want))
		}
	}
}

func (r *reader) quiet(t testing.TB, what string, d time.Duration) {
	t.Helper()
	select {
	case got := <-r.ch:
		t.Fatalf("%s: unexpected frame % x…", what, head(got))
	case <-time.After(d):
	}
}

func head(b []byte) []byte {
	if len(b) > 24 {
		return b[:24]
	}
	return b
}

// eventually polls cond until it holds or d passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkGoroutines fails if goroutines started during the test outlive it.
func checkGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(3 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				n := runtime.Stack(buf, true)
				t.Errorf("goroutine leak: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:n])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}
