// Package dispatch holds the protoactor-go dispatchers govde uses on the data
// plane: a worker pool of long-lived goroutines for egress port actors (no
// goroutine start per activation), and a re-export of the synchronized
// dispatcher for cheap stages that run to completion on the sender's goroutine.
package dispatch

import (
	"sync"

	"github.com/asynkron/protoactor-go/actor"
)

// Pool is an actor.Dispatcher backed by a fixed set of worker goroutines.
// Schedule never blocks as long as fewer than queue actors are scheduled at
// once (a mailbox schedules itself at most once per activation), so queue
// must exceed the number of actors using the pool.
type Pool struct {
	ch         chan func()
	throughput int
	wg         sync.WaitGroup
	once       sync.Once
}

// NewPool starts workers goroutines reading a queue of capacity queue.
// throughput is the number of messages an actor handles before yielding.
func NewPool(workers, queue, throughput int) *Pool {
	p := &Pool{ch: make(chan func(), queue), throughput: throughput}
	p.wg.Add(workers)
	for i := 0; i < workers; i++ {
		go func() {
			defer p.wg.Done()
			for fn := range p.ch {
				fn()
			}
		}()
	}
	return p
}

// Schedule implements actor.Dispatcher.
func (p *Pool) Schedule(fn func()) { p.ch <- fn }

// Throughput implements actor.Dispatcher.
func (p *Pool) Throughput() int { return p.throughput }

// Stop ends the workers after the queued activations ran. No actor may be
// scheduled on the pool afterwards.
func (p *Pool) Stop() {
	p.once.Do(func() { close(p.ch) })
	p.wg.Wait()
}

// Sync returns protoactor's synchronized dispatcher: the receiver runs on
// the sender's goroutine, nested in Send.
func Sync(throughput int) actor.Dispatcher { return actor.NewSynchronizedDispatcher(throughput) }
