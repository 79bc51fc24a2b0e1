// Package mailbox is govde's protoactor-go mailbox for data-plane actors:
// bounded, non-blocking tail drop that hands every dropped message to a
// release hook (so pooled frames go back to their pool) and counts it, no
// allocation per message, and a scheduling closure created once.
//
// protoactor's own bounded mailbox spins the sender when full (livelock with
// a worker pool), its dropping variant loses pooled buffers, and the lock-free
// one allocates per message; see ../shared/notes/protoactor-go.md §4.6.
package mailbox

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
)

const (
	idle int32 = iota
	running
)

// Mailbox implements actor.Mailbox.
type Mailbox struct {
	mu         sync.Mutex
	ring       []any
	mask       uint64
	head, tail uint64 // head: next to pop, tail: next to push
	sys        []any  // system messages (rare); guarded by mu

	status    atomic.Int32
	suspended atomic.Bool
	user      atomic.Int32
	sysN      atomic.Int32
	dropped   atomic.Uint64

	invoker    actor.MessageInvoker
	dispatcher actor.Dispatcher
	process    func()
	onDrop     func(any)
}

// New returns a mailbox holding up to size user messages (rounded up to a
// power of two). onDrop, if not nil, receives every message refused because
// the mailbox is full; it runs on the sender's goroutine and must not block.
func New(size int, onDrop func(any)) *Mailbox {
	n := 1
	for n < size {
		n <<= 1
	}
	m := &Mailbox{ring: make([]any, n), mask: uint64(n - 1), onDrop: onDrop}
	m.process = m.processMessages
	return m
}

// Producer returns an actor.MailboxProducer for actor.WithMailbox.
func Producer(size int, onDrop func(any)) actor.MailboxProducer {
	return func() actor.Mailbox { return New(size, onDrop) }
}

// Dropped returns how many user messages were refused because the mailbox
// was full.
func (m *Mailbox) Dropped() uint64 { return m.dropped.Load() }

// PostUserMessage enqueues msg, or drops it through the hook when full. It
// never blocks.
func (m *Mailbox) PostUserMessage(msg any) {
	m.mu.Lock()
	if m.tail-m.head == uint64(len(m.ring)) {
		m.mu.Unlock()
		m.dropped.Add(1)
		if m.onDrop != nil {
			m.onDrop(msg)
		}
		return
	}
	m.ring[m.tail&m.mask] = msg
	m.tail++
	m.mu.Unlock()
	m.user.Add(1)
	m.schedule()
}

// PostSystemMessage enqueues a system message (never dropped).
func (m *Mailbox) PostSystemMessage(msg any) {
	m.mu.Lock()
	m.sys = append(m.sys, msg)
	m.mu.Unlock()
	m.sysN.Add(1)
	m.schedule()
}

// RegisterHandlers implements actor.Mailbox.
func (m *Mailbox) RegisterHandlers(invoker actor.MessageInvoker, dispatcher actor.Dispatcher) {
	m.invoker = invoker
	m.dispatcher = dispatcher
}

// Start implements actor.Mailbox.
func (m *Mailbox) Start() {}

// UserMessageCount implements actor.Mailbox.
func (m *Mailbox) UserMessageCount() int { return int(m.user.Load()) }

func (m *Mailbox) schedule() {
	if m.status.CompareAndSwap(idle, running) {
		m.dispatcher.Schedule(m.process)
	}
}

func (m *Mailbox) processMessages() {
	for {
		m.run()
		m.status.Store(idle)
		if m.sysN.Load() > 0 || (!m.suspended.Load() && m.user.Load() > 0) {
			if m.status.CompareAndSwap(idle, running) {
				continue
			}
		}
		return
	}
}

func (m *Mailbox) popSys() any {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.sys) == 0 {
		return nil
	}
	msg := m.sys[0]
	m.sys[0] = nil
	m.sys = m.sys[1:]
	if len(m.sys) == 0 {
		m.sys = m.sys[:0:0]
	}
	return msg
}

func (m *Mailbox) popUser() any {
	m.mu.Lock()
	if m.head == m.tail {
		m.mu.Unlock()
		return nil
	}
	i := m.head & m.mask
	msg := m.ring[i]
	m.ring[i] = nil
	m.head++
	m.mu.Unlock()
	return msg
}

func (m *Mailbox) run() {
	var msg any
	defer func() {
		if r := recover(); r != nil {
			m.invoker.EscalateFailure(r, msg)
		}
	}()
	i, t := 0, m.dispatcher.Throughput()
	for {
		if i > t {
			i = 0
			runtime.Gosched()
		}
		i++
		if m.sysN.Load() > 0 {
			if msg = m.popSys(); msg != nil {
				m.sysN.Add(-1)
				switch msg.(type) {
				case *actor.SuspendMailbox:
					m.suspended.Store(true)
				case *actor.ResumeMailbox:
					m.suspended.Store(false)
				default:
					m.invoker.InvokeSystemMessage(msg)
				}
				continue
			}
		}
		if m.suspended.Load() {
			return
		}
		if msg = m.popUser(); msg == nil {
			return
		}
		m.user.Add(-1)
		m.invoker.InvokeUserMessage(msg)
	}
}

var _ actor.Mailbox = (*Mailbox)(nil)
