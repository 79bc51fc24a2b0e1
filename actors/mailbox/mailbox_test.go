package mailbox

import (
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/govde/govde/actors/dispatch"
)

type blocker struct {
	gate <-chan struct{}
	seen *atomic.Int64
	wg   *sync.WaitGroup
}

func (b *blocker) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(int); ok {
		<-b.gate
		b.seen.Add(1)
		b.wg.Done()
	}
}

// A full mailbox drops the newest message through the hook, never blocks the
// sender, and delivers everything it accepted.
func TestTailDropReleases(t *testing.T) {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
	defer sys.Shutdown()
	pool := dispatch.NewPool(1, 64, 10)
	defer pool.Stop()
	gate := make(chan struct{})
	var seen atomic.Int64
	var wg sync.WaitGroup
	var dropped []any
	var mu sync.Mutex
	var mb *Mailbox
	props := actor.PropsFromProducer(func() actor.Actor { return &blocker{gate: gate, seen: &seen, wg: &wg} },
		actor.WithDispatcher(pool),
		actor.WithMailbox(func() actor.Mailbox {
			mb = New(4, func(m any) { mu.Lock(); dropped = append(dropped, m); mu.Unlock() })
			return mb
		}))
	pid := sys.Root.Spawn(props)
	wg.Add(5) // the first message is taken by the actor, four wait in the ring
	done := make(chan struct{})
	go func() {
		for i := 0; i < 20; i++ {
			sys.Root.Send(pid, i)
			if i == 0 {
				time.Sleep(50 * time.Millisecond) // let the actor take message 0
			}
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("sender blocked on a full mailbox")
	}
	close(gate)
	wg.Wait()
	if seen.Load() != 5 || mb.Dropped() != 15 || len(dropped) != 15 {
		t.Fatalf("seen %d dropped %d hook %d", seen.Load(), mb.Dropped(), len(dropped))
	}
	if dropped[0] != 5 || dropped[14] != 19 {
		t.Fatalf("dropped the wrong messages: %v", dropped)
	}
}

type counter struct{ n *atomic.Int64 }

func (c *counter) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*int); ok {
		c.n.Add(1)
	}
}

// Zero allocations per message on the synchronized dispatcher, idle path
// included.
func TestNoAllocsPerMessage(t *testing.T) {
	sys := actor.NewActorSystem()
	defer sys.Shutdown()
	var n atomic.Int64
	pid := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &counter{&n} },
		actor.WithDispatcher(dispatch.Sync(300)), actor.WithMailbox(Producer(64, nil))))
	msg := new(int)
	allocs := testing.AllocsPerRun(1000, func() { sys.Root.Send(pid, msg) })
	if allocs != 0 {
		t.Fatalf("%.1f allocs per message", allocs)
	}
	if n.Load() < 1000 {
		t.Fatalf("delivered %d", n.Load())
	}
}
