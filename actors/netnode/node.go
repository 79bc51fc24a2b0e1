package netnode

import (
	"errors"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/govde/govde/actors/port"
	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
)

// client is the node's state of one attached endpoint.
type client struct {
	num     int
	ep      transports.Endpoint
	descr   string
	pid     *actor.PID // its port actor
	stats   *port.Stats
	pending *frames.Batch // frames for it, sent at the end of an ingress batch
	c       counters
}

type counters struct {
	inFrames, inBytes, outFrames, outBytes uint64
}

// node is the actor. It owns everything below; no locks.
type node struct {
	n       *Node
	cfg     Config
	clients []*client // attach order (bonding's round robin walks it)
	byNum   []*client // index = port number; nil = free; [0] unused (host)
	table   *Table    // switch only
	touched []*client // clients with a pending batch
	hostOut *frames.Batch
	host    counters
	rr      int // bonding: index in clients of the last one served
	closing bool
}

func newNode(n *Node, cfg Config) *node {
	nd := &node{n: n, cfg: cfg, byNum: []*client{nil}}
	if cfg.Kind == Switch {
		nd.table = NewTable(cfg.HashSize, cfg.HashSeed, cfg.Expire)
	}
	return nd
}

// Receive implements actor.Actor.
func (nd *node) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *frames.Batch:
		nd.ingress(ctx, m)
	case *attachReq:
		p, err := nd.attach(ctx, m)
		ctx.Respond(&attachResp{port: p, err: err})
	case *detachReq:
		nd.detach(ctx, m.ep)
		ctx.Respond(&attachResp{})
	case *clientGone:
		nd.detach(ctx, m.ep)
	case *statsReq:
		ctx.Respond(nd.stats())
	case *closeReq:
		nd.closing = true
		for _, c := range nd.clients {
			c.ep.Close()
		}
		ctx.Respond(&attachResp{})
	case *actor.Stopping:
		for _, c := range nd.clients {
			c.ep.Close()
			if c.pending != nil {
				c.pending.Release()
				c.pending = nil
			}
		}
		if nd.hostOut != nil {
			nd.hostOut.Release()
			nd.hostOut = nil
		}
	}
}

func (nd *node) attach(ctx actor.Context, m *attachReq) (int, error) {
	if nd.closing {
		m.ep.Close()
		return -1, ErrClosed
	}
	if m.ep == nil {
		return -1, errors.New("netnode: nil endpoint")
	}
	num := len(nd.byNum)
	for i := 1; i < len(nd.byNum); i++ {
		if nd.byNum[i] == nil {
			num = i
			break
		}
	}
	c := &client{num: num, ep: m.ep, descr: m.descr, stats: new(port.Stats)}
	c.pid = ctx.Spawn(port.Props(nd.cfg.PortPool, c.stats))
	ctx.Send(c.pid, &port.AddEndpoint{Endpoint: m.ep})
	if num == len(nd.byNum) {
		nd.byNum = append(nd.byNum, c)
	} else {
		nd.byNum[num] = c
	}
	nd.clients = append(nd.clients, c)
	nd.n.readers.Add(1)
	go nd.n.readLoop(m.ep, num)
	return num, nil
}

func (nd *node) detach(ctx actor.Context, ep transports.Endpoint) {
	for i, c := range nd.clients {
		if c.ep != ep {
			continue
		}
		nd.clients = append(nd.clients[:i], nd.clients[i+1:]...)
		nd.byNum[c.num] = nil
		if nd.table != nil {
			nd.table.ForgetPort(c.num)
		}
		if c.pending != nil { // only between ingress batches: never
			c.pending.Release()
			c.pending = nil
		}
		ctx.Stop(c.pid)
		ep.Close()
		if nd.rr >= len(nd.clients) {
			nd.rr = 0
		}
		return
	}
	ep.Close()
}

func (nd *node) stats() *Stats {
	s := &Stats{Kind: nd.cfg.Kind, QueueDrops: nd.n.queueDrops.Load()}
	s.Host = PortStats{Num: HostPort, Descr: "host", InFrames: nd.host.inFrames, InBytes: nd.host.inBytes,
		OutFrames: nd.host.outFrames, OutBytes: nd.host.outBytes, Drops: nd.n.host.dropped.Load()}
	for _, c := range nd.clients {
		var w uint64
		if dc, ok := c.ep.(transports.DropCounter); ok {
			w, _ = dc.Drops()
		}
		s.Clients = append(s.Clients, PortStats{Num: c.num, Descr: c.descr, InFrames: c.c.inFrames, InBytes: c.c.inBytes,
			OutFrames: c.c.outFrames, OutBytes: c.c.outBytes,
			Drops: c.stats.Queue.Load() + c.stats.Writer.Load() + c.stats.Errors.Load() + w})
	}
	if nd.table != nil {
		s.MACs = nd.table.Len(nd.cfg.Clock())
	}
	return s
}
