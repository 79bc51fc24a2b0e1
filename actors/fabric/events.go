package fabric

import (
	"fmt"

	"github.com/govde/govde/frames"
)

// Debug categories the fabric reports (vde_switch's debug/list names).
const (
	EvHashAdd = 1 << iota
	EvHashDel
	EvPortAdd
	EvPortDel
	EvPortDescr
	EvEndpointAdd
	EvEndpointDel
	EvFSTPStatus
	EvFSTPRoot
	EvFSTPAdd
	EvFSTPDel
)

// EventCategories maps the debug category names to the fabric's bits.
var EventCategories = map[string]uint32{
	"hash/+": EvHashAdd, "hash/-": EvHashDel, "port/+": EvPortAdd, "port/-": EvPortDel,
	"port/descr": EvPortDescr, "port/ep/+": EvEndpointAdd, "port/ep/-": EvEndpointDel,
	"fstp/status": EvFSTPStatus, "fstp/root": EvFSTPRoot, "fstp/+": EvFSTPAdd, "fstp/-": EvFSTPDel,
}

// SetDebug tells the fabric which debug categories someone listens to; the
// others cost nothing (the MAC table hooks are removed). No reply.
type SetDebug struct{ Mask uint32 }

func (f *fabric) setDebug(mask uint32) {
	f.debug = mask
	f.table.OnAdd, f.table.OnDrop = nil, nil
	if mask&EvHashAdd != 0 {
		f.table.OnAdd = func(k uint64, port int) { f.event("hash/+", hashText(k, port)) }
	}
	if mask&EvHashDel != 0 {
		f.table.OnDrop = func(k uint64, port int) { f.event("hash/-", hashText(k, port)) }
	}
}

// hashText is vde_switch's hash event text: the VLAN is printed low byte
// first.
func hashText(k uint64, port int) string {
	v := frames.KeyVLAN(k)
	return fmt.Sprintf("%s VLAN %02x:%02x Port %d", frames.KeyMAC(k), v&0xff, v>>8, port)
}

func (f *fabric) on(bit uint32) bool { return f.debug&bit != 0 && f.cfg.Events != nil }

func (f *fabric) event(cat, text string) {
	if f.cfg.Events != nil {
		f.cfg.Events(Event{Category: cat, Text: text})
	}
}
