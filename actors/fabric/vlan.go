package fabric

import (
	"math/bits"
	"syscall"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/govde/govde/frames"
)

// vlanSet is a set of VLAN ids 0..4095.
type vlanSet [4096 / 64]uint64

func (s *vlanSet) has(v uint16) bool { return s[v>>6]&(1<<(v&63)) != 0 }
func (s *vlanSet) add(v uint16)      { s[v>>6] |= 1 << (v & 63) }
func (s *vlanSet) del(v uint16)      { s[v>>6] &^= 1 << (v & 63) }
func (s *vlanSet) each(fn func(uint16)) {
	for i, w := range s {
		for w != 0 {
			b := bits.TrailingZeros64(w)
			fn(uint16(i*64 + b))
			w &^= 1 << b
		}
	}
}
func (s *vlanSet) list() []uint16 {
	var out []uint16
	s.each(func(v uint16) { out = append(out, v) })
	return out
}

// portSet is a growable set of port numbers.
type portSet []uint64

func (s *portSet) has(p int) bool { return p>>6 < len(*s) && (*s)[p>>6]&(1<<(p&63)) != 0 }
func (s *portSet) add(p int) {
	for p>>6 >= len(*s) {
		*s = append(*s, 0)
	}
	(*s)[p>>6] |= 1 << (p & 63)
}
func (s *portSet) del(p int) {
	if p>>6 < len(*s) {
		(*s)[p>>6] &^= 1 << (p & 63)
	}
}
func (s *portSet) empty() bool {
	for _, w := range *s {
		if w != 0 {
			return false
		}
	}
	return true
}

// vlan is one VLAN: its configured members and, for the forwarding path,
// the active members in ascending port order.
type vlan struct {
	id      uint16
	members portSet // configured members, tagged or untagged, active or not
	blocked portSet // ports the spanning tree holds Discarding
	actU    []int   // active untagged members, ascending
	actT    []int   // active tagged members, ascending
	fstp    *actor.PID
}

func newVLAN(id uint16) *vlan { return &vlan{id: id} }

func (v *vlan) rebuild(ports []*swPort) {
	v.actU, v.actT = v.actU[:0], v.actT[:0]
	for _, p := range ports {
		if p == nil || !p.active() {
			continue
		}
		if p.untagged == v.id {
			v.actU = append(v.actU, p.num)
		} else if p.tagged.has(v.id) {
			v.actT = append(v.actT, p.num)
		}
	}
}

func (f *fabric) validPort(n int) bool { return n >= 0 && n < len(f.ports) }

func (f *fabric) createVLAN(id int) error {
	if id < 1 || id > 4093 {
		return syscall.EINVAL
	}
	if f.vlans[id] != nil {
		return syscall.EEXIST
	}
	f.vlans[id] = newVLAN(uint16(id))
	return nil
}

func (f *fabric) removeVLAN(id int) error {
	if id < 0 || id > 4094 {
		return syscall.EINVAL
	}
	v := f.vlans[id]
	if v == nil {
		return syscall.ENXIO
	}
	if !v.members.empty() {
		return syscall.EADDRINUSE
	}
	f.vlans[id] = nil
	f.table.FlushVLAN(uint16(id))
	return nil
}

func (f *fabric) setPortVLAN(n, id int) error {
	if !f.validPort(n) || id < 0 || id > 4095 {
		return syscall.EINVAL
	}
	p := f.ports[n]
	if p == nil || (id != frames.VLANNone && f.vlans[id] == nil) {
		return syscall.ENXIO
	}
	old := p.untagged
	if old != frames.VLANNone {
		if v := f.vlans[old]; v != nil {
			v.members.del(n)
			v.blocked.del(n)
		}
	}
	p.untagged = uint16(id)
	if id != frames.VLANNone {
		p.tagged.del(uint16(id))
		f.vlans[id].members.add(n)
	}
	f.table.FlushPort(n)
	if old != frames.VLANNone {
		f.topologyChange(old)
	}
	if id != frames.VLANNone {
		f.topologyChange(uint16(id))
	}
	return nil
}

// memberArgs checks vlan/addport and vlan/delport arguments: EINVAL out of
// range, ENXIO when the VLAN or the port does not exist.
func (f *fabric) memberArgs(id, n int) (*vlan, *swPort, error) {
	if id < 0 || id > 4093 || !f.validPort(n) {
		return nil, nil, syscall.EINVAL
	}
	v, p := f.vlans[id], f.ports[n]
	if v == nil || p == nil {
		return nil, nil, syscall.ENXIO
	}
	return v, p, nil
}

func (f *fabric) addTagged(id, n int) error {
	v, p, err := f.memberArgs(id, n)
	if err != nil {
		return err
	}
	if p.untagged == uint16(id) {
		return nil
	}
	p.tagged.add(uint16(id))
	v.members.add(n)
	f.topologyChange(uint16(id))
	return nil
}

func (f *fabric) delTagged(id, n int) error {
	v, p, err := f.memberArgs(id, n)
	if err != nil {
		return err
	}
	if p.untagged == uint16(id) {
		return syscall.EADDRINUSE
	}
	p.tagged.del(uint16(id))
	v.members.del(n)
	v.blocked.del(n)
	f.table.FlushPort(n)
	f.topologyChange(uint16(id))
	return nil
}

func (f *fabric) setBlocked(m *SetBlocked) {
	v := f.vlans[m.VLAN]
	if v == nil {
		return
	}
	if m.Blocked {
		v.blocked.add(m.Port)
	} else {
		v.blocked.del(m.Port)
	}
}
