package fabric

import (
	"syscall"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/govde/govde/frames"
)

// Port management messages (console port/* commands). Reply: *Result, or
// *CreatedPort for CreateAuto.
type (
	SetNumPorts    struct{ N int }
	RemovePort     struct{ Port int }
	SetAllocatable struct {
		Port int
		On   bool
	}
	// SetACL sets a port's access control user or group (-1 = unset).
	SetACL struct {
		Port, User, Group int
		SetUser           bool // true: change User, false: change Group
	}
	// CloseEndpoint closes endpoint ID of a port (port/epclose).
	CloseEndpoint struct{ Port, ID int }
	// ResetCounters zeroes one port's counters, or all with Port < 0.
	ResetCounters struct{ Port int }
	// CreateAuto allocates a port like an unnamed connection and marks it
	// not allocatable (port/createauto).
	CreateAuto struct{}
)

// CreatedPort answers CreateAuto.
type CreatedPort struct {
	Port int
	Err  error
}

// GetVLANs asks for the VLAN table. Reply: *VLANs.
type GetVLANs struct{}

// VLANs is the reply to GetVLANs: defined VLANs in ascending order.
type VLANs struct {
	Hub   bool
	VLANs []VLANInfo
}

// VLANInfo is one VLAN and its configured member ports.
type VLANInfo struct {
	ID      uint16
	Members []VLANMember // ascending port order
}

// VLANMember is one port's membership in a VLAN.
type VLANMember struct {
	Port    int
	Tagged  bool
	Active  bool
	Blocked bool
}

// GetTableInfo asks for the MAC table parameters. Reply: *TableInfo.
type GetTableInfo struct{}

// TableInfo is the reply to GetTableInfo.
type TableInfo struct {
	Size                           int
	GCInterval, Expire, MinPersist int64
}

// FindMAC looks one entry up (hash/find). Reply: *Found.
type FindMAC struct {
	MAC  frames.MAC
	VLAN uint16
}

// Found answers FindMAC.
type Found struct {
	Entry Entry
	OK    bool
}

// Event is a debug event the fabric reports through Config.Events:
// Category is the console debug category ("port/+", "hash/-", …) and Text
// the message as vde_switch prints it.
type Event struct {
	Category string
	Text     string
}

func (f *fabric) control(ctx actor.Context) bool {
	switch m := ctx.Message().(type) {
	case *SetNumPorts:
		ctx.Respond(&Result{Err: f.setNumPorts(m.N)})
	case *RemovePort:
		ctx.Respond(&Result{Err: f.removePort(ctx, m.Port)})
	case *SetAllocatable:
		ctx.Respond(&Result{Err: f.withPort(m.Port, func(p *swPort) { p.allocatable = m.On })})
	case *SetACL:
		ctx.Respond(&Result{Err: f.withPort(m.Port, func(p *swPort) {
			if m.SetUser {
				p.user = m.User
			} else {
				p.group = m.Group
			}
		})})
	case *CloseEndpoint:
		ctx.Respond(&Result{Err: f.closeEndpoint(ctx, m.Port, m.ID)})
	case *ResetCounters:
		ctx.Respond(&Result{Err: f.resetCounters(m.Port)})
	case *CreateAuto:
		n := f.freePort()
		if n < 0 {
			ctx.Respond(&CreatedPort{Port: -1, Err: syscall.ENOSPC})
			return true
		}
		p := f.ports[n]
		if p == nil {
			p = f.newPort(ctx, n, false)
		}
		p.allocatable = false
		ctx.Respond(&CreatedPort{Port: n})
	case *GetVLANs:
		ctx.Respond(f.vlanTable())
	case *GetTableInfo:
		t := f.table
		ctx.Respond(&TableInfo{Size: t.Size(), GCInterval: t.GCInterval, Expire: t.Expire, MinPersist: t.MinPersist})
	case *FindMAC:
		e, ok := f.table.Find(frames.Key(m.MAC, m.VLAN), f.cfg.Clock())
		ctx.Respond(&Found{Entry: e, OK: ok})
	default:
		return false
	}
	return true
}

func (f *fabric) withPort(n int, fn func(*swPort)) error {
	if !f.validPort(n) {
		return syscall.EINVAL
	}
	p := f.ports[n]
	if p == nil {
		return syscall.ENXIO
	}
	fn(p)
	return nil
}

func (f *fabric) setNumPorts(n int) error {
	if n <= 0 {
		return syscall.EINVAL
	}
	for i := n; i < len(f.ports); i++ {
		if f.ports[i] != nil {
			return syscall.EADDRINUSE
		}
	}
	if n < len(f.ports) {
		f.ports = f.ports[:n]
		f.pending = f.pending[:n]
		f.touched = make([]int, 0, n)
		return nil
	}
	f.resizePorts(n)
	return nil
}

func (f *fabric) removePort(ctx actor.Context, n int) error {
	if !f.validPort(n) {
		return syscall.EINVAL
	}
	p := f.ports[n]
	if p == nil {
		return syscall.ENXIO
	}
	if p.active() {
		return syscall.EADDRINUSE
	}
	for _, v := range f.vlans {
		if v != nil {
			v.members.del(n)
			v.blocked.del(n)
		}
	}
	f.table.FlushPort(n)
	ctx.Stop(p.pid)
	f.ports[n] = nil
	return nil
}

func (f *fabric) closeEndpoint(ctx actor.Context, n, id int) error {
	if !f.validPort(n) {
		return syscall.EINVAL
	}
	p := f.ports[n]
	if p == nil {
		return syscall.ENXIO
	}
	for _, e := range p.eps {
		if e.id == id {
			f.detach(ctx, e.ep)
			return nil
		}
	}
	return syscall.ENXIO
}

func (f *fabric) resetCounters(n int) error {
	if n >= len(f.ports) {
		return syscall.EINVAL
	}
	for i, p := range f.ports {
		if p != nil && (n < 0 || i == n) {
			p.c = Counters{}
			p.stats.Reset()
		}
	}
	return nil
}

func (f *fabric) vlanTable() *VLANs {
	out := &VLANs{Hub: f.cfg.Hub}
	for id, v := range f.vlans {
		if v == nil {
			continue
		}
		vi := VLANInfo{ID: uint16(id)}
		for _, p := range f.ports {
			if p == nil || !v.members.has(p.num) {
				continue
			}
			vi.Members = append(vi.Members, VLANMember{Port: p.num, Tagged: p.untagged != uint16(id),
				Active: p.active(), Blocked: v.blocked.has(p.num)})
		}
		out.VLANs = append(out.VLANs, vi)
	}
	return out
}
