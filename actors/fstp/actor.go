package fstp

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/govde/govde/frames"
)

// Messages between the fabric and a VLAN's FSTP actor. The fabric is the
// actor's parent; the actor answers to ctx.Parent().
type (
	// Members is the VLAN's active member ports, sent by the fabric after
	// every change; the actor diffs it into joins and leaves.
	Members struct{ Untagged, Tagged []int }
	// In carries a BPDU frame that arrived on Port (one reference, which
	// the actor releases).
	In struct {
		Port  int
		Frame *frames.Buf
	}
	// Tick is the switch's 1 Hz clock (Now in seconds).
	Tick struct{ Now int64 }
	// SetOn turns the protocol on or off.
	SetOn struct{ On bool }
	// SetEdge and SetBonus are fstp/setedge and fstp/bonus.
	SetEdge struct {
		Port int
		On   bool
	}
	SetBonus struct {
		Port int
		Cost int
	}
	// GetInfo asks for fstp/print's data. Reply: *Info.
	GetInfo struct{}
)

// Messages from the actor to the fabric.
type (
	// Out asks the fabric to send Frame (owned by the message) on Port.
	Out struct {
		Port  int
		Frame []byte
	}
	// Blocked sets a port's state in the VLAN.
	Blocked struct {
		VLAN    uint16
		Port    int
		Blocked bool
	}
	// Flush empties the VLAN's MAC entries.
	Flush struct{ VLAN uint16 }
	// Event is a debug event for the fabric to report.
	Event struct{ Category, Text string }
)

// Info is one VLAN's spanning-tree data for fstp/print.
type Info struct {
	On                   bool
	Root, Designated     BridgeID
	RootPort             int
	Cost                 uint32
	Age                  int64
	BonusPort, BonusCost int
	Ports                []PortInfo // untagged members first, then tagged
}

// PortInfo is one member port's role.
type PortInfo struct {
	Port   int
	Tagged bool
	Role   string
}

type vlanActor struct {
	v      *VLAN
	ctx    actor.Context
	parent *actor.PID
}

// Props returns the props of the FSTP actor of VLAN id on a switch with
// bridge priority and MAC. It runs on the default dispatcher (control).
func Props(id uint16, priority uint16, mac [6]byte) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		a := &vlanActor{}
		a.v = NewVLAN(id, priority, mac, a)
		return a
	})
}

func (a *vlanActor) Send(port int, frame []byte) {
	a.ctx.Send(a.parent, &Out{Port: port, Frame: append([]byte(nil), frame...)})
}

func (a *vlanActor) SetBlocked(port int, b bool) {
	a.ctx.Send(a.parent, &Blocked{VLAN: a.v.ID, Port: port, Blocked: b})
}

func (a *vlanActor) Flush() { a.ctx.Send(a.parent, &Flush{VLAN: a.v.ID}) }

func (a *vlanActor) Event(cat, text string) { a.ctx.Send(a.parent, &Event{Category: cat, Text: text}) }

func (a *vlanActor) Receive(ctx actor.Context) {
	a.ctx, a.parent = ctx, ctx.Parent()
	v := a.v
	switch m := ctx.Message().(type) {
	case *In:
		v.Receive(m.Port, m.Frame.Bytes())
		m.Frame.Release()
	case *Tick:
		v.Tick(m.Now)
	case *Members:
		a.members(m)
	case *SetOn:
		v.SetOn(m.On)
	case *SetEdge:
		v.SetEdge(m.Port, m.On)
	case *SetBonus:
		v.SetBonus(m.Port, uint32(m.Cost))
	case *GetInfo:
		info := &Info{On: v.on, Root: v.Root, Designated: v.Designated, RootPort: v.RootPort, Cost: v.Cost,
			BonusPort: v.BonusPort, BonusCost: int(v.BonusCost)}
		info.Age = v.now - v.Stamp
		u, t := v.Members()
		for _, p := range u {
			info.Ports = append(info.Ports, PortInfo{Port: p, Role: v.Role(p)})
		}
		for _, p := range t {
			info.Ports = append(info.Ports, PortInfo{Port: p, Tagged: true, Role: v.Role(p)})
		}
		ctx.Respond(info)
	}
}

func (a *vlanActor) members(m *Members) {
	v := a.v
	want := map[int]bool{}
	for _, p := range m.Untagged {
		want[p] = false
	}
	for _, p := range m.Tagged {
		want[p] = true
	}
	for _, p := range append(sorted(v.untagged), sorted(v.tagged)...) {
		if tagged, ok := want[p]; !ok || tagged != v.tagged[p] {
			v.Leave(p)
		}
	}
	for _, p := range append(append([]int(nil), m.Untagged...), m.Tagged...) {
		if !v.member(p) {
			v.Join(p, want[p])
		}
	}
}
