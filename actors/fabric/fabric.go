// Package fabric is the switching core: one actor per switch that owns the
// port table, the VLAN table and the MAC table, takes batches of frames from
// the ports' reader goroutines, decides every frame (learning, VLAN, flooding,
// hub mode) and hands per-port batches to the port actors. It runs on the
// synchronized dispatcher with govde's tail-drop mailbox: no locks on the
// forwarding path, no allocation per frame.
package fabric

import (
	"log"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/govde/govde/actors/dispatch"
	"github.com/govde/govde/actors/mailbox"
	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
)

// QueueLen is the number of batches the fabric's mailbox holds.
const QueueLen = 1024

// Config is a switch's forwarding configuration.
type Config struct {
	// NumPorts is vde_switch's -n: ports 0..NumPorts-1 exist (Debian
	// semantics: -n 4 gives ports 1..3 to clients). Default 32.
	NumPorts int
	Hub      bool
	HashSize int // MAC table buckets (power of 2), default 128
	// Clock returns switch seconds; default: seconds since New.
	Clock func() int64
	// Logf receives log lines (MAC moves, errors); default log.Printf.
	Logf func(format string, args ...any)
	// PortPool, if set, runs the port actors on a worker pool (egress
	// pipelined on other goroutines). By default port actors run on the
	// synchronized dispatcher: a batch is written to its sockets on the
	// goroutine that switched it, without a goroutine wake-up. Port actors
	// never block either way (datagram writes use MSG_DONTWAIT; blocking
	// endpoints have their own writer goroutine).
	PortPool *dispatch.Pool
	// Groups reports the groups a uid belongs to (for port/setgroup);
	// default: the passwd/group databases.
	Groups func(uid int) []int
	// Events receives the debug events enabled with SetDebug; it runs on
	// the fabric's goroutine and must not block.
	Events func(Event)
	// MAC and Priority make the FSTP bridge id; FSTP starts the fast
	// spanning tree at once (-F).
	MAC      [6]byte
	Priority uint16
	FSTP     bool
}

type fabric struct {
	cfg       Config
	root      *actor.RootContext
	self      *actor.PID
	ports     []*swPort // index = port number; nil when the port does not exist
	vlans     [4096]*vlan
	table     *Table
	pending   []*frames.Batch // per port: the batch being filled for it
	touched   []int           // ports with a pending batch
	moveLog   rateLimit
	debug     uint32 // SetDebug mask
	tap       Tap    // nil unless a plugin captures frames
	fstpOn    bool
	stopClock func()
}

// New spawns a fabric actor in sys and returns its PID.
func New(sys *actor.ActorSystem, cfg Config) *actor.PID {
	if cfg.NumPorts <= 0 {
		cfg.NumPorts = 32
	}
	if cfg.HashSize <= 0 {
		cfg.HashSize = 128
	}
	if cfg.Clock == nil {
		start := time.Now()
		cfg.Clock = func() int64 { return int64(time.Since(start) / time.Second) }
	}
	if cfg.Logf == nil {
		cfg.Logf = log.Printf
	}
	if cfg.Groups == nil {
		cfg.Groups = userGroups
	}
	drop := func(m any) {
		if b, ok := m.(*frames.Batch); ok {
			b.Release()
		}
	}
	props := actor.PropsFromProducer(func() actor.Actor { return newFabric(sys, cfg) },
		actor.WithMailbox(mailbox.Producer(QueueLen, drop)),
		actor.WithDispatcher(dispatch.Sync(300)))
	return sys.Root.Spawn(props)
}

func newFabric(sys *actor.ActorSystem, cfg Config) *fabric {
	f := &fabric{cfg: cfg, root: sys.Root, table: NewTable(cfg.HashSize)}
	f.resizePorts(cfg.NumPorts)
	f.vlans[0] = newVLAN(0)
	return f
}

func (f *fabric) resizePorts(n int) {
	ports := make([]*swPort, n)
	copy(ports, f.ports)
	f.ports = ports
	pending := make([]*frames.Batch, n)
	copy(pending, f.pending)
	f.pending = pending
	f.touched = make([]int, 0, n)
}

// Receive implements actor.Actor.
func (f *fabric) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *frames.Batch:
		f.ingress(ctx, m)
	case *actor.Started:
		f.self = ctx.Self()
		f.fstpOn = f.cfg.FSTP && !f.cfg.Hub
		if v := f.vlans[0]; v != nil {
			f.spawnFSTP(ctx, v)
		}
		f.startClock(ctx)
	case *AttachEndpoint:
		p, err := f.attach(ctx, m)
		ctx.Respond(&Attached{Port: p, Err: err})
	case *DetachEndpoint:
		ctx.Respond(&Detached{Port: f.detach(ctx, m.Endpoint)})
	case *endpointGone:
		f.detach(ctx, m.ep)
	case *GetStats:
		ctx.Respond(f.stats())
	case *GetTable:
		ctx.Respond(&TableDump{Size: f.table.Size(), Entries: f.table.Entries(f.cfg.Clock())})
	case *SetHub:
		f.cfg.Hub = m.On
		if m.On {
			f.setFSTP(ctx, false)
		}
		ctx.Respond(&Result{})
	case *SetTableParams:
		f.setTableParams(m)
		ctx.Respond(&Result{})
	case *CreatePort:
		ctx.Respond(&Result{Err: f.createPort(ctx, m.Port)})
	case *CreateVLAN:
		err := f.createVLAN(m.VLAN)
		if err == nil {
			f.spawnFSTP(ctx, f.vlans[m.VLAN])
		}
		ctx.Respond(&Result{Err: err})
	case *RemoveVLAN:
		var pid *actor.PID
		if m.VLAN >= 0 && m.VLAN < len(f.vlans) && f.vlans[m.VLAN] != nil {
			pid = f.vlans[m.VLAN].fstp
		}
		err := f.removeVLAN(m.VLAN)
		if err == nil && pid != nil {
			ctx.Stop(pid)
		}
		ctx.Respond(&Result{Err: err})
	case *SetPortVLAN:
		ctx.Respond(&Result{Err: f.setPortVLAN(m.Port, m.VLAN)})
	case *AddTagged:
		ctx.Respond(&Result{Err: f.addTagged(m.VLAN, m.Port)})
	case *DelTagged:
		ctx.Respond(&Result{Err: f.delTagged(m.VLAN, m.Port)})
	case *SetBlocked:
		f.setBlocked(m)
	case *SetDebug:
		f.setDebug(m.Mask)
	case *AddTap:
		f.setTaps(m.Tap, nil)
	case *RemoveTap:
		f.setTaps(nil, m.Tap)
	case interface{ run(*fabric) }:
		m.run(f)
	default:
		if !f.stp(ctx) {
			f.control(ctx)
		}
	case *actor.Stopping:
		if f.stopClock != nil {
			f.stopClock()
		}
		for _, p := range f.ports {
			if p != nil {
				for _, e := range p.eps {
					e.ep.Close()
				}
			}
		}
	}
}

func (f *fabric) setTableParams(m *SetTableParams) {
	if m.Size > 0 {
		f.table.Resize(m.Size)
	}
	if m.GCInterval >= 0 {
		f.table.GCInterval = int64(m.GCInterval)
	}
	if m.Expire >= 0 {
		f.table.Expire = int64(m.Expire)
	}
	if m.MinPersist >= 0 {
		f.table.MinPersist = int64(m.MinPersist)
	}
}

// readLoop is an endpoint's reader goroutine: it fills batches from the
// endpoint and sends them to the fabric until the endpoint fails or closes.
func readLoop(root *actor.RootContext, fab *actor.PID, ep transports.Endpoint, portNum int) {
	cr := frames.NewCredit(ReaderCredit)
	defer cr.Close()
	for {
		if !cr.Wait() {
			return
		}
		b := frames.GetBatch()
		err := ep.ReadBatch(b)
		if err == nil {
			transports.Complete(b, ep)
		}
		if b.N > 0 {
			for _, fr := range b.Frames[:b.N] {
				fr.SetCredit(cr)
			}
			cr.Took(b.N)
			b.Port = portNum
			root.Send(fab, b)
		} else {
			b.Recycle()
		}
		if err != nil {
			root.Send(fab, &endpointGone{ep: ep})
			return
		}
	}
}

// ReaderCredit is the number of frames one endpoint's reader may have in
// flight (queued for the fabric, or waiting at an egress whose socket is
// full) before it stops reading: the pacing that turns a full egress into
// a slower sender instead of lost frames.
const ReaderCredit = 128

type rateLimit struct {
	sec   int64
	count int
}

// allow reports whether one more log line may be written in second now
// (at most 5 a second).
func (r *rateLimit) allow(now int64) bool {
	if now != r.sec {
		r.sec, r.count = now, 0
	}
	r.count++
	return r.count <= 5
}
