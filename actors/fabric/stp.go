package fabric

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/govde/govde/actors/fstp"
	"github.com/govde/govde/frames"
)

// SetFSTP turns the fast spanning tree on or off (fstp/setfstp, -F).
// Reply: *Result. In hub mode it stays off.
type SetFSTP struct{ On bool }

// GetFSTPActors asks for the FSTP actor of every VLAN (fstp/print,
// fstp/setedge and fstp/bonus talk to them directly). Reply: *FSTPActors.
type GetFSTPActors struct{}

// FSTPActors answers GetFSTPActors, ascending VLAN order.
type FSTPActors struct {
	On    bool
	VLANs []uint16
	PIDs  []*actor.PID
}

type stpTick struct{}

// spawnFSTP starts the FSTP actor of v.
func (f *fabric) spawnFSTP(ctx actor.Context, v *vlan) {
	v.fstp = ctx.Spawn(fstp.Props(v.id, f.cfg.Priority, f.cfg.MAC))
	if f.fstpOn {
		ctx.Send(v.fstp, &fstp.SetOn{On: true})
	}
}

// startClock sends the fabric a tick every second for the FSTP actors.
func (f *fabric) startClock(ctx actor.Context) {
	stop := make(chan struct{})
	f.stopClock = func() { close(stop) }
	self, root := ctx.Self(), f.root
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				root.Send(self, &stpTick{})
			case <-stop:
				return
			}
		}
	}()
}

func (f *fabric) stp(ctx actor.Context) bool {
	switch m := ctx.Message().(type) {
	case *stpTick:
		now := f.cfg.Clock()
		for _, v := range f.vlans {
			if v != nil && v.fstp != nil {
				ctx.Send(v.fstp, &fstp.Tick{Now: now})
			}
		}
	case *SetFSTP:
		f.setFSTP(ctx, m.On && !f.cfg.Hub)
		ctx.Respond(&Result{})
	case *GetFSTPActors:
		r := &FSTPActors{On: f.fstpOn}
		for id, v := range f.vlans {
			if v != nil && v.fstp != nil {
				r.VLANs = append(r.VLANs, uint16(id))
				r.PIDs = append(r.PIDs, v.fstp)
			}
		}
		ctx.Respond(r)
	case *fstp.Out:
		if m.Port >= 0 && m.Port < len(f.ports) && f.ports[m.Port] != nil {
			f.emit(f.ports[m.Port], frames.GetCopy(m.Frame))
			f.flush(ctx)
		}
	case *fstp.Blocked:
		f.setBlocked(&SetBlocked{VLAN: m.VLAN, Port: m.Port, Blocked: m.Blocked})
	case *fstp.Flush:
		f.table.FlushVLAN(m.VLAN)
	case *fstp.Event:
		if f.on(EventCategories[m.Category]) {
			f.event(m.Category, m.Text)
		}
	default:
		return false
	}
	return true
}

func (f *fabric) setFSTP(ctx actor.Context, on bool) {
	f.fstpOn = on
	for _, v := range f.vlans {
		if v != nil && v.fstp != nil {
			ctx.Send(v.fstp, &fstp.SetOn{On: on})
		}
	}
}

// notifyFSTP sends v's FSTP actor the active members after a change.
func (f *fabric) notifyFSTP(v *vlan) {
	if v.fstp != nil {
		f.root.Send(v.fstp, &fstp.Members{Untagged: append([]int(nil), v.actU...), Tagged: append([]int(nil), v.actT...)})
	}
}
