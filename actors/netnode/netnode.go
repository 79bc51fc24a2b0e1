// Package netnode is the forwarding core of vdeplug4's in-process network
// nodes (hub://, switch://, multi://, bonding://): one actor that owns the
// node's clients, its MAC table (switch) and its round-robin position
// (bonding), takes batches from the clients' reader goroutines and from the
// host (the process that opened the node), and hands per-destination
// batches to port actors (clients) or to the host's queue.
//
// Forwarding (spec vdeplug-and-tools.md §2.9); frames shorter than 14
// bytes are dropped:
//
//	kind     from a client                              from the host
//	hub      every other client and the host            every client
//	switch   learn the source; a known destination      learn the source; a known
//	         gets it alone (never back to the sender),  client gets it alone (a
//	         else every other client and the host       host MAC: dropped), else
//	                                                    every client
//	multi    the host only                              every client
//	bonding  the host only                              one client per frame,
//	                                                    round robin
//
// Unlike vdeplug, forwarding between clients does not depend on the host
// reading, the switch's MAC table keys on the full 12-bit VLAN id, and a
// full host queue drops (and counts) instead of stalling the node.
package netnode

import (
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/govde/govde/actors/dispatch"
	"github.com/govde/govde/actors/mailbox"
	"github.com/govde/govde/actors/port"
	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
)

// Kind is the forwarding table of a node.
type Kind uint8

// The four kinds of vdeplug4 netnode.
const (
	Hub Kind = iota
	Switch
	Multi
	Bonding
)

var kindNames = [...]string{"hub", "switch", "multi", "bonding"}

// String returns the kind's VNL module name.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "invalid"
}

// ParseKind returns the kind named s ("hub", "switch", "multi", "bonding").
func ParseKind(s string) (Kind, bool) {
	for i, n := range kindNames {
		if n == s {
			return Kind(i), true
		}
	}
	return 0, false
}

// Defaults of the switch kind (vdeplug4's).
const (
	DefaultHashSize = 256
	DefaultExpire   = 120 // seconds
	// DefaultHostQueue is the number of batches waiting for the host before
	// the node drops.
	DefaultHostQueue = 256
	// QueueLen is the node actor's mailbox size in batches.
	QueueLen = 1024
)

// HostPort is the port number of the host.
const HostPort = 0

// Config configures a node.
type Config struct {
	Kind Kind
	// HashSize, HashSeed and Expire (seconds) set the switch's MAC table;
	// zero values mean DefaultHashSize, 0 and DefaultExpire.
	HashSize int
	HashSeed uint64
	Expire   int64
	// HostQueue is the number of batches queued for the host (default
	// DefaultHostQueue).
	HostQueue int
	// Clock returns seconds for the MAC table; default: seconds since New.
	Clock func() int64
	// PortPool runs the clients' port actors; default: a pool of 2
	// workers owned by the node.
	PortPool *dispatch.Pool
}

// Node is a running netnode.
type Node struct {
	kind    Kind
	sys     *actor.ActorSystem
	pid     *actor.PID
	host    *Host
	pool    *dispatch.Pool
	ownPool bool
	readers sync.WaitGroup
	closed  atomic.Bool
	// queueDrops counts frames refused by the actor's full mailbox.
	queueDrops atomic.Uint64
}

// askTimeout bounds control requests to the actor.
const askTimeout = 5 * time.Second

// ErrClosed is returned by Attach after Close.
var ErrClosed = errors.New("netnode closed")

// New starts a node with its own actor system.
func New(cfg Config) *Node {
	if cfg.HashSize <= 0 {
		cfg.HashSize = DefaultHashSize
	}
	if cfg.Expire <= 0 {
		cfg.Expire = DefaultExpire
	}
	if cfg.HostQueue <= 0 {
		cfg.HostQueue = DefaultHostQueue
	}
	if cfg.Clock == nil {
		start := time.Now()
		cfg.Clock = func() int64 { return int64(time.Since(start) / time.Second) }
	}
	n := &Node{kind: cfg.Kind, pool: cfg.PortPool}
	if n.pool == nil {
		n.pool = port.NewPool(2)
		n.ownPool = true
	}
	cfg.PortPool = n.pool
	n.sys = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
	n.host = newHost(n, cfg.HostQueue)
	drop := func(m any) {
		if b, ok := m.(*frames.Batch); ok {
			n.queueDrops.Add(uint64(b.N))
			b.Release()
		}
	}
	props := actor.PropsFromProducer(func() actor.Actor { return newNode(n, cfg) },
		actor.WithMailbox(mailbox.Producer(QueueLen, drop)),
		actor.WithDispatcher(dispatch.Sync(300)))
	n.pid = n.sys.Root.Spawn(props)
	return n
}

// Kind returns the node's kind.
func (n *Node) Kind() Kind { return n.kind }

// Host returns the host's endpoint: ReadBatch returns what the node sends
// to the host, WriteBatch injects frames as coming from the host.
func (n *Node) Host() *Host { return n.host }

// Attach adds a client endpoint (a vde2 server endpoint, or any endpoint)
// and starts its reader. It returns the client's port number (1, 2, …;
// freed numbers are reused). The node owns ep from now on and closes it
// when the client is detached. descr is what Stats shows.
func (n *Node) Attach(ep transports.Endpoint, descr string) (int, error) {
	if n.closed.Load() {
		return -1, ErrClosed
	}
	r, err := n.sys.Root.RequestFuture(n.pid, &attachReq{ep: ep, descr: descr}, askTimeout).Result()
	if err != nil {
		return -1, err
	}
	a := r.(*attachResp)
	return a.port, a.err
}

// Detach removes a client and closes its endpoint (idempotent, waits for
// the node to have done it).
func (n *Node) Detach(ep transports.Endpoint) {
	n.sys.Root.RequestFuture(n.pid, &detachReq{ep: ep}, askTimeout).Wait()
}

// Stats returns the node's counters.
func (n *Node) Stats() (*Stats, error) {
	r, err := n.sys.Root.RequestFuture(n.pid, &statsReq{}, askTimeout).Result()
	if err != nil {
		return nil, err
	}
	return r.(*Stats), nil
}

// Close detaches and closes every client, stops the actor and the port
// actors, and closes the host endpoint (its pending ReadBatch returns
// transports.ErrClosed). Safe to call more than once.
func (n *Node) Close() {
	if !n.closed.CompareAndSwap(false, true) {
		return
	}
	n.sys.Root.RequestFuture(n.pid, &closeReq{}, askTimeout).Wait()
	n.readers.Wait()
	n.sys.Root.StopFuture(n.pid).Wait()
	n.host.shutdown()
	n.sys.Shutdown()
	if n.ownPool {
		n.pool.Stop()
	}
}

// readLoop is a client's reader goroutine: it fills batches from the
// endpoint and sends them to the node until the endpoint fails or closes.
func (n *Node) readLoop(ep transports.Endpoint, num int) {
	defer n.readers.Done()
	root := n.sys.Root
	for {
		b := frames.GetBatch()
		err := ep.ReadBatch(b)
		if b.N > 0 {
			b.Port = num
			root.Send(n.pid, b)
		} else {
			b.Recycle()
		}
		if err != nil {
			root.Send(n.pid, &clientGone{ep: ep})
			return
		}
	}
}
