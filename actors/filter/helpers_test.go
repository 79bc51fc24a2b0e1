package filter

import (
	"encoding/binary"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
)

// testEP is an in-memory endpoint: frames given to feed come out of
// ReadBatch (at most perRead per call); frames written are recorded with
// their arrival time.
type testEP struct {
	in      chan []byte
	perRead int
	eof     chan struct{}
	done    chan struct{}
	once    sync.Once
	reads   int // frames handed out; read by tests after the reader stopped or under mu
	readAt  []time.Time

	mu     sync.Mutex
	got    []rx
	notify chan struct{}
}

type rx struct {
	at   time.Time
	data []byte
}

func newTestEP(perRead int) *testEP {
	if perRead <= 0 {
		perRead = frames.BatchSize
	}
	return &testEP{in: make(chan []byte, 256), perRead: perRead, eof: make(chan struct{}),
		done: make(chan struct{}), notify: make(chan struct{}, 1)}
}

func (e *testEP) ReadBatch(b *frames.Batch) error {
	add := func(p []byte) {
		b.Add(frames.GetCopy(p))
		e.mu.Lock()
		e.reads++
		e.readAt = append(e.readAt, time.Now())
		e.mu.Unlock()
	}
	select {
	case p := <-e.in:
		add(p)
	case <-e.eof:
		select {
		case p := <-e.in:
			add(p)
		default:
			return io.EOF
		}
	case <-e.done:
		return transports.ErrClosed
	}
	for b.N < e.perRead {
		select {
		case p := <-e.in:
			add(p)
		default:
			return nil
		}
	}
	return nil
}

func (e *testEP) WriteBatch(b *frames.Batch) error {
	now := time.Now()
	e.mu.Lock()
	for _, f := range b.Slice() {
		e.got = append(e.got, rx{at: now, data: append([]byte(nil), f.Bytes()...)})
	}
	e.mu.Unlock()
	select {
	case e.notify <- struct{}{}:
	default:
	}
	select {
	case <-e.done:
		return transports.ErrClosed
	default:
	}
	return nil
}

func (e *testEP) Close() error {
	e.once.Do(func() { close(e.done) })
	return nil
}

func (e *testEP) Describe() string { return "test" }

// received returns a copy of what was written so far.
func (e *testEP) received() []rx {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]rx(nil), e.got...)
}

// waitCount waits until n frames were written or d passed.
func (e *testEP) waitCount(n int, d time.Duration) []rx {
	deadline := time.After(d)
	for {
		if r := e.received(); len(r) >= n {
			return r
		}
		select {
		case <-e.notify:
		case <-deadline:
			return e.received()
		}
	}
}

// waitQuiet waits until nothing was written for q, or d passed.
func (e *testEP) waitQuiet(q, d time.Duration) []rx {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		n := len(e.received())
		select {
		case <-e.notify:
			continue
		case <-time.After(q):
		}
		if len(e.received()) == n {
			break
		}
	}
	return e.received()
}

// frame builds a test frame of length n carrying seq.
func frame(seq uint64, n int) []byte {
	if n < 22 {
		n = 22
	}
	f := make([]byte, n)
	copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x88, 0xb5})
	binary.BigEndian.PutUint64(f[14:], seq)
	for i := 22; i < n; i++ {
		f[i] = byte(i * 7)
	}
	return f
}

func seqOf(p []byte) uint64 { return binary.BigEndian.Uint64(p[14:22]) }

// rig is a bidirectional wire between two test endpoints.
type rig struct {
	sys  *actor.ActorSystem
	l, r *testEP
	w    *Wire
}

func newRig(t *testing.T, opt Options, perRead int) *rig {
	t.Helper()
	g := &rig{sys: newSystem(), l: newTestEP(perRead), r: newTestEP(perRead)}
	w, err := New(g.sys, Path{From: g.l, To: g.r}, Path{From: g.r, To: g.l}, opt)
	if err != nil {
		t.Fatal(err)
	}
	g.w = w
	t.Cleanup(func() {
		w.Close()
		g.sys.Shutdown()
	})
	return g
}

// feed sends frames into ep from a goroutine (the input channel is bounded).
func feed(ep *testEP, fs [][]byte) {
	go func() {
		for _, f := range fs {
			select {
			case ep.in <- f:
			case <-ep.done:
				return
			}
		}
	}()
}

func params(kv map[Param]Value) Params {
	var p Params
	for k, v := range kv {
		p[k] = v
	}
	return p
}

func newSystem() *actor.ActorSystem {
	return actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
}
