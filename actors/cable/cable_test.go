package cable

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/govde/govde/transports/memtest"
)

func quiet() *actor.ActorSystem {
	return actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
}

func frame(i int) []byte {
	return []byte(fmt.Sprintf("\xff\xff\xff\xff\xff\xff\x02\x00\x00\x00\x00\x01\x08\x00frame %06d", i))
}

// Frames cross both ways, in order, none lost even when the destination is
// slower than the source (backpressure, not drops).
func TestCableBackpressureNoLoss(t *testing.T) {
	sys := quiet()
	defer sys.Shutdown()
	before := runtime.NumGoroutine()
	a, b := memtest.New("a", 8), memtest.New("b", 8)
	a.Blocking, b.Blocking = true, true // writes block when Out is full
	c := New(sys, a, b, Options{Credits: 4})
	const n = 3000
	go func() {
		for i := 0; i < n; i++ {
			a.Inject(frame(i))
			b.Inject(frame(n + i))
		}
	}()
	for i := 0; i < n; i++ {
		if i%500 == 0 {
			time.Sleep(20 * time.Millisecond) // a slow consumer
		}
		if got := <-b.Out; !bytes.Equal(got, frame(i)) {
			t.Fatalf("b got %q want %q", got, frame(i))
		}
		if got := <-a.Out; !bytes.Equal(got, frame(n+i)) {
			t.Fatalf("a got %q want %q", got, frame(n+i))
		}
	}
	c.Close()
	<-c.Done()
	if c.Err() != nil {
		t.Fatal(c.Err())
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before {
		t.Fatalf("goroutines: %d before, %d after", before, g)
	}
}

// A side that ends ends the cable.
func TestCableEndsWhenASideCloses(t *testing.T) {
	sys := quiet()
	defer sys.Shutdown()
	a, b := memtest.New("a", 8), memtest.New("b", 8)
	c := New(sys, a, b, Options{})
	a.Close()
	select {
	case <-c.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("cable did not end")
	}
	c.Close()
}
