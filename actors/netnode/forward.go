package netnode

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/govde/govde/frames"
)

// ingress forwards one batch that entered from b.Port (HostPort or a
// client). It takes over b and its frame references.
func (nd *node) ingress(ctx actor.Context, b *frames.Batch) {
	var from *client
	if b.Port != HostPort {
		if b.Port <= 0 || b.Port >= len(nd.byNum) || nd.byNum[b.Port] == nil {
			b.Release() // the client left while its frames were queued
			return
		}
		from = nd.byNum[b.Port]
	}
	var now int64
	if nd.table != nil {
		now = nd.cfg.Clock()
	}
	for i, fr := range b.Frames[:b.N] {
		b.Frames[i] = nil
		nd.frame(from, fr, now)
	}
	b.N = 0
	b.Recycle()
	nd.flush(ctx)
}

// frame decides one frame from client from (nil: the host) and releases
// the caller's reference to it.
func (nd *node) frame(from *client, fr *frames.Buf, now int64) {
	defer fr.Release()
	p := fr.Bytes()
	if len(p) < frames.MinFrame {
		return
	}
	if from == nil {
		nd.host.inFrames++
		nd.host.inBytes += uint64(len(p))
	} else {
		from.c.inFrames++
		from.c.inBytes += uint64(len(p))
	}
	switch nd.cfg.Kind {
	case Hub:
		nd.toClients(fr, from)
		if from != nil {
			nd.toHost(fr)
		}
	case Multi:
		if from == nil {
			nd.toClients(fr, nil)
		} else {
			nd.toHost(fr)
		}
	case Bonding:
		if from != nil {
			nd.toHost(fr)
		} else if len(nd.clients) > 0 {
			nd.rr = (nd.rr + 1) % len(nd.clients)
			nd.toClient(nd.clients[nd.rr], fr)
		}
	case Switch:
		nd.switchFrame(from, fr, p, now)
	}
}

// switchFrame is the switch kind's decision.
func (nd *node) switchFrame(from *client, fr *frames.Buf, p []byte, now int64) {
	var vlan uint16
	if frames.IsTagged(p) {
		vlan = frames.VID(p)
	}
	in := HostPort
	if from != nil {
		in = from.num
	}
	if !frames.SrcIsMulticast(p) {
		nd.table.Learn(keyOf(p[6:12], vlan), in, now)
	}
	dst := -1
	if !frames.DstIsMulticast(p) {
		dst = nd.table.Lookup(keyOf(p, vlan), now)
	}
	switch {
	case dst == in: // never back to the sender
	case dst == HostPort:
		nd.toHost(fr)
	case dst > 0 && dst < len(nd.byNum) && nd.byNum[dst] != nil:
		nd.toClient(nd.byNum[dst], fr)
	default:
		nd.toClients(fr, from)
		if from != nil {
			nd.toHost(fr)
		}
	}
}

// toClients queues fr for every client but except.
func (nd *node) toClients(fr *frames.Buf, except *client) {
	for _, c := range nd.clients {
		if c != except {
			nd.toClient(c, fr)
		}
	}
}

// toClient queues one more reference to fr for c.
func (nd *node) toClient(c *client, fr *frames.Buf) {
	fr.Retain(1)
	c.c.outFrames++
	c.c.outBytes += uint64(fr.Len())
	if c.pending == nil {
		c.pending = frames.GetBatch()
		nd.touched = append(nd.touched, c)
	}
	c.pending.Add(fr)
	if c.pending.Full() {
		nd.n.sys.Root.Send(c.pid, c.pending)
		c.pending = nil
	}
}

// toHost queues one more reference to fr for the host.
func (nd *node) toHost(fr *frames.Buf) {
	fr.Retain(1)
	nd.host.outFrames++
	nd.host.outBytes += uint64(fr.Len())
	if nd.hostOut == nil {
		nd.hostOut = frames.GetBatch()
	}
	nd.hostOut.Add(fr)
	if nd.hostOut.Full() {
		nd.n.host.deliver(nd.hostOut)
		nd.hostOut = nil
	}
}

// flush sends every client its pending batch and the host its own.
func (nd *node) flush(ctx actor.Context) {
	for i, c := range nd.touched {
		if c.pending != nil {
			ctx.Send(c.pid, c.pending)
			c.pending = nil
		}
		nd.touched[i] = nil
	}
	nd.touched = nd.touched[:0]
	if nd.hostOut != nil {
		nd.n.host.deliver(nd.hostOut)
		nd.hostOut = nil
	}
}
