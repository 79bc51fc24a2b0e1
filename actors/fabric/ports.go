package fabric

import (
	"fmt"
	"os/user"
	"strconv"
	"syscall"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/govde/govde/actors/dispatch"
	"github.com/govde/govde/actors/port"
	"github.com/govde/govde/transports"
)

// swPort is the fabric's state of one port.
type swPort struct {
	num         int
	pid         *actor.PID
	stats       *port.Stats
	eps         []endpoint // newest first
	untagged    uint16     // frames.VLANNone when none
	tagged      vlanSet
	allocatable bool
	user, group int // access control, -1 unset
	curUser     int
	c           Counters
}

type endpoint struct {
	ep  transports.Endpoint
	id  int
	mod string
	dsc string
	uid int
}

func (p *swPort) active() bool { return len(p.eps) > 0 }

// newPort creates port n (untagged member of VLAN 0) and spawns its actor.
func (f *fabric) newPort(ctx actor.Context, n int, allocatable bool) *swPort {
	p := &swPort{num: n, stats: new(port.Stats), untagged: 0, allocatable: allocatable, user: -1, group: -1, curUser: -1}
	var d actor.Dispatcher = dispatch.Sync(64)
	if f.cfg.PortPool != nil {
		d = f.cfg.PortPool
	}
	p.pid = ctx.Spawn(port.Props(d, p.stats))
	f.ports[n] = p
	if f.on(EvPortAdd) {
		f.event("port/+", fmt.Sprintf("%02d", n))
	}
	if v := f.vlans[0]; v != nil {
		v.members.add(n)
	} else {
		p.untagged = 4095
	}
	return p
}

func (f *fabric) createPort(ctx actor.Context, n int) error {
	if n < 0 || n >= len(f.ports) {
		return syscall.EINVAL
	}
	if n == 0 { // vde_switch quirk: port/create 0 auto-allocates
		n = f.freePort()
		if n < 0 {
			return syscall.ENOSPC
		}
		if p := f.ports[n]; p != nil {
			p.allocatable = false
			return nil
		}
	} else if f.ports[n] != nil {
		return syscall.EEXIST
	}
	f.newPort(ctx, n, false)
	return nil
}

// freePort returns the lowest port ≥1 that does not exist or exists without
// endpoints and is allocatable, or -1.
func (f *fabric) freePort() int {
	for i := 1; i < len(f.ports); i++ {
		p := f.ports[i]
		if p == nil || (!p.active() && p.allocatable) {
			return i
		}
	}
	return -1
}

func (f *fabric) attach(ctx actor.Context, m *AttachEndpoint) (int, error) {
	n := m.Port
	switch {
	case m.Port0:
		n = 0
	case n < 0 || n >= len(f.ports):
		return -1, syscall.EINVAL
	case n == 0:
		if n = f.freePort(); n < 0 {
			return -1, syscall.ENOSPC
		}
	}
	p := f.ports[n]
	if p == nil {
		p = f.newPort(ctx, n, true)
	}
	if !p.active() {
		if m.UID != -1 && !f.allowed(p, m.UID) {
			return -1, syscall.EPERM
		}
		p.curUser = m.UID
	}
	if p.curUser != m.UID {
		return -1, syscall.EADDRINUSE
	}
	wasActive := p.active()
	p.eps = append([]endpoint{{ep: m.Endpoint, id: m.ID, mod: m.Module, dsc: m.Descr, uid: m.UID}}, p.eps...)
	ctx.Send(p.pid, &port.AddEndpoint{Endpoint: m.Endpoint})
	if f.on(EvEndpointAdd) {
		f.event("port/ep/+", fmt.Sprintf("Port %02d FD %2d", n, m.ID))
	}
	if f.on(EvPortDescr) {
		f.event("port/descr", fmt.Sprintf("Port %02d FD %2d -> \"%s\"", n, m.ID, m.Descr))
	}
	if !wasActive {
		f.activation(p)
	}
	go readLoop(f.root, f.self, m.Endpoint, n)
	return n, nil
}

// allowed applies port/setuser and port/setgroup to a connecting uid.
func (f *fabric) allowed(p *swPort, uid int) bool {
	if (p.user == -1 && p.group == -1) || uid == 0 || uid == p.user {
		return true
	}
	if p.group != -1 {
		for _, g := range f.cfg.Groups(uid) {
			if g == p.group {
				return true
			}
		}
	}
	return false
}

func userGroups(uid int) []int {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return nil
	}
	ids, _ := u.GroupIds()
	var out []int
	if g, err := strconv.Atoi(u.Gid); err == nil {
		out = append(out, g)
	}
	for _, s := range ids {
		if g, err := strconv.Atoi(s); err == nil {
			out = append(out, g)
		}
	}
	return out
}

func (f *fabric) detach(ctx actor.Context, ep transports.Endpoint) int {
	for _, p := range f.ports {
		if p == nil {
			continue
		}
		for i, e := range p.eps {
			if e.ep != ep {
				continue
			}
			p.eps = append(p.eps[:i], p.eps[i+1:]...)
			ctx.Send(p.pid, &port.RemoveEndpoint{Endpoint: ep})
			ep.Close()
			if f.on(EvEndpointDel) {
				f.event("port/ep/-", fmt.Sprintf("Port %02d FD %2d", p.num, e.id))
			}
			if !p.active() {
				if f.on(EvPortDel) {
					f.event("port/-", fmt.Sprintf("%02d", p.num))
				}
				f.table.FlushPort(p.num)
				f.activation(p)
			}
			return p.num
		}
	}
	ep.Close()
	return -1
}

// activation rebuilds the VLAN member lists after p became active or
// inactive and flushes the MAC entries of its VLANs: vde_switch treats every
// port activation as a topology change, even with FSTP off.
func (f *fabric) activation(p *swPort) {
	if p.untagged != 4095 {
		f.topologyChange(p.untagged)
	}
	p.tagged.each(func(v uint16) { f.topologyChange(v) })
}

func (f *fabric) topologyChange(vid uint16) {
	if v := f.vlans[vid]; v != nil {
		v.rebuild(f.ports)
		f.table.FlushVLAN(vid)
		f.notifyFSTP(v)
	}
}

func (f *fabric) stats() *Stats {
	s := &Stats{NumPorts: len(f.ports), Hub: f.cfg.Hub, MACs: f.table.Len()}
	for _, p := range f.ports {
		if p == nil {
			continue
		}
		pi := PortInfo{Num: p.num, Active: p.active(), Allocatable: p.allocatable, Untagged: p.untagged,
			Tagged: p.tagged.list(), User: p.user, Group: p.group, CurUser: p.curUser, Counters: p.c}
		pi.Counters.DropQueue = p.stats.Queue.Load() + p.stats.Writer.Load()
		pi.Counters.DropError = p.stats.Errors.Load()
		for _, e := range p.eps {
			pi.Endpoints = append(pi.Endpoints, EndpointInfo{ID: e.id, Module: e.mod, Descr: e.dsc, UID: e.uid})
			if dc, ok := e.ep.(transports.DropCounter); ok {
				w, _ := dc.Drops()
				pi.Counters.DropEndpoint += w
			}
		}
		s.Ports = append(s.Ports, pi)
	}
	return s
}
