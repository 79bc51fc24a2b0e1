package fstp

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Env is how a VLAN instance acts on its switch.
type Env interface {
	// Send sends a BPDU frame on port (the frame is only borrowed).
	Send(port int, frame []byte)
	// SetBlocked makes the fabric discard (true) or forward (false) the
	// port's frames in this VLAN.
	SetBlocked(port int, blocked bool)
	// Flush empties the VLAN's MAC table entries (topology change).
	Flush()
	// Event reports a debug event (category, text) as vde_switch prints it.
	Event(category, text string)
}

// VLAN is the spanning-tree state of one VLAN on one switch.
type VLAN struct {
	ID    uint16
	Self  BridgeID
	MAC   [6]byte
	env   Env
	on    bool
	now   int64 // seconds
	ticks int64

	Root       BridgeID
	Cost       uint32
	Designated BridgeID
	DesigPort  uint16
	RootPort   int // 0: this switch is root
	Stamp      int64
	BonusPort  int
	BonusCost  uint32

	lastTC                                     int64 // second a received TC was last passed on
	untagged, tagged, backup, edge, rcv0, rcv1 set
	frame                                      [64]byte
}

type set map[int]bool

// Role names as fstp/print prints them.
const (
	RoleEdge       = "Edge"
	RoleRoot       = "Root"
	RoleAltBackup  = "Alternate/Backup"
	RoleDesignated = "Designated"
)

// NewVLAN returns a VLAN instance in its reset state.
func NewVLAN(id uint16, priority uint16, mac [6]byte, env Env) *VLAN {
	v := &VLAN{ID: id, Self: NewBridgeID(priority, mac), MAC: mac, env: env,
		untagged: set{}, tagged: set{}, backup: set{}, edge: set{}, rcv0: set{}, rcv1: set{}}
	v.reset()
	return v
}

func (v *VLAN) vlanText() string { return fmt.Sprintf("%02x:%02x", v.ID>>8, v.ID&0xff) }

// reset forgets the root: this switch is root again, every blocked port
// forwards.
func (v *VLAN) reset() {
	v.Root, v.Cost, v.Designated, v.DesigPort, v.RootPort, v.Stamp = v.Self, 0, AllOnes, 0, 0, 0
	for p := range v.backup {
		v.unblock(p)
	}
}

func (v *VLAN) member(p int) bool { return v.untagged[p] || v.tagged[p] }

// active reports whether port p received BPDUs in this or the last window.
func (v *VLAN) active(p int) bool { return v.rcv0[p] || v.rcv1[p] }

func (v *VLAN) block(p int) {
	if !v.backup[p] {
		v.backup[p] = true
		v.env.SetBlocked(p, true)
		v.env.Event("fstp/status", fmt.Sprintf("Port %04d VLAN %s discarding", p, v.vlanText()))
	}
}

func (v *VLAN) unblock(p int) {
	if v.backup[p] {
		delete(v.backup, p)
		v.env.SetBlocked(p, false)
		v.env.Event("fstp/status", fmt.Sprintf("Port %04d VLAN %s learning+forwarding", p, v.vlanText()))
	}
}

// SetOn turns the protocol on or off; off resets the VLAN (every port
// forwards) and stops hellos.
func (v *VLAN) SetOn(on bool) {
	v.on = on
	if !on {
		v.reset()
	}
}

// Role returns port p's role for fstp/print.
func (v *VLAN) Role(p int) string {
	switch {
	case v.edge[p]:
		return RoleEdge
	case v.RootPort == p && p != 0:
		return RoleRoot
	case v.backup[p]:
		return RoleAltBackup
	}
	return RoleDesignated
}

// Blocked reports whether p is Discarding.
func (v *VLAN) Blocked(p int) bool { return v.backup[p] }

// Members returns the active untagged and tagged member ports, ascending.
func (v *VLAN) Members() (untagged, tagged []int) { return sorted(v.untagged), sorted(v.tagged) }

func sorted(s set) []int {
	var out []int
	for p := range s {
		out = append(out, p)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// Join adds active port p (tagged or untagged member): it starts
// forwarding, gets one BPDU, and the topology changes.
func (v *VLAN) Join(p int, tagged bool) {
	if tagged {
		v.tagged[p] = true
		delete(v.untagged, p)
	} else {
		v.untagged[p] = true
		delete(v.tagged, p)
	}
	if v.backup[p] {
		delete(v.backup, p)
		v.env.SetBlocked(p, false)
	}
	delete(v.edge, p)
	delete(v.rcv0, p)
	delete(v.rcv1, p)
	v.env.Event("fstp/+", fmt.Sprintf("Port %04d VLAN %s", p, v.vlanText()))
	if v.on {
		v.sendBPDU(p, false, false)
	}
	v.notifyChange(p) // the fabric flushed the VLAN when the port joined
}

// Leave removes port p; losing the root port resets the VLAN.
func (v *VLAN) Leave(p int) {
	if !v.member(p) {
		return
	}
	delete(v.untagged, p)
	delete(v.tagged, p)
	if v.backup[p] {
		delete(v.backup, p)
		v.env.SetBlocked(p, false)
	}
	v.env.Event("fstp/-", fmt.Sprintf("Port %04d VLAN %s", p, v.vlanText()))
	if v.RootPort == p && p != 0 {
		v.reset()
	}
	v.notifyChange(p) // the fabric flushed the VLAN when the port left
}

// SetEdge marks p as an edge port (no BPDUs sent, received ones ignored,
// always forwarding) or not.
func (v *VLAN) SetEdge(p int, on bool) {
	if on {
		v.edge[p] = true
		v.unblock(p)
	} else {
		delete(v.edge, p)
	}
}

// SetBonus makes BPDUs arriving on port cheaper by cost.
func (v *VLAN) SetBonus(port int, cost uint32) { v.BonusPort, v.BonusCost = port, cost }

// topologyChange flushes the MAC table and tells the other FSTP ports.
func (v *VLAN) topologyChange(origin int) {
	v.env.Flush()
	v.notifyChange(origin)
}

// notifyChange sends a TC BPDU to every other FSTP port.
func (v *VLAN) notifyChange(origin int) {
	if !v.on {
		return
	}
	for _, p := range v.allMembers() {
		if p != origin && !v.backup[p] && !v.edge[p] && v.active(p) {
			v.sendBPDU(p, true, false)
		}
	}
}

func (v *VLAN) allMembers() []int { return append(sorted(v.untagged), sorted(v.tagged)...) }

// Tick advances the clock to now (seconds); every HelloTime it sends
// hellos, drops stale root information, and every 4 hellos unblocks the
// backup ports that stopped hearing BPDUs.
func (v *VLAN) Tick(now int64) {
	v.now = now
	if !v.on {
		return
	}
	v.ticks++
	if v.ticks%HelloTime != 0 {
		return
	}
	if v.RootPort != 0 && now-v.Stamp > MaxAge {
		v.reset()
	}
	for _, p := range v.allMembers() {
		if !v.edge[p] {
			v.sendBPDU(p, false, true)
		}
	}
	if v.ticks%(4*HelloTime) == 0 {
		for p := range v.backup {
			if !v.rcv0[p] && !v.rcv1[p] {
				v.unblock(p)
			}
		}
		v.rcv1, v.rcv0 = v.rcv0, set{}
	}
}

// sendBPDU sends our view on port p.
func (v *VLAN) sendBPDU(p int, tc, agreement bool) {
	var b BPDU
	if tc {
		b.Flags |= FlagTC
	}
	if v.backup[p] {
		b.Flags |= FlagAltBackup
	} else {
		b.Flags |= FlagNotAlt | FlagForward
	}
	if v.RootPort != p || p == 0 {
		b.Flags |= FlagNotRoot
	}
	if agreement {
		b.Flags |= FlagAgreement
	}
	b.Root, b.Cost, b.Bridge, b.PortID = v.Root, v.Cost, v.Self, PortID(p)
	if v.RootPort != 0 {
		age := v.now - v.Stamp
		if age > 0xffff {
			age = 0xffff
		}
		b.Age = uint16(age)
	}
	n := b.Encode(v.frame[:], v.MAC, v.tagged[p], v.ID)
	v.env.Send(p, v.frame[:n])
}

// priorityVector is (root, cost, designated bridge, designated port) as the
// bytes VDE compares.
func priorityVector(root BridgeID, cost uint32, bridge BridgeID, port uint16) [22]byte {
	var k [22]byte
	copy(k[0:], root[:])
	binary.BigEndian.PutUint32(k[8:], cost)
	copy(k[12:], bridge[:])
	binary.BigEndian.PutUint16(k[20:], port)
	return k
}

// Receive handles a BPDU frame that arrived on port p.
func (v *VLAN) Receive(p int, frame []byte) {
	if !v.on || v.edge[p] || !v.member(p) {
		return
	}
	v.rcv0[p] = true
	b, err := Parse(frame)
	if err != nil {
		return
	}
	if b.Flags&FlagTC != 0 {
		// Pass a received topology change on at most once a second: VDE
		// re-floods every TC it gets, which circulates around loops
		// until ports block. The MAC table is flushed every time.
		if v.lastTC != v.now+1 {
			v.lastTC = v.now + 1
			v.topologyChange(p)
		} else {
			v.env.Flush()
		}
	}
	cost := b.Cost + PortCost
	if p == v.BonusPort && v.BonusPort != 0 {
		cost -= v.BonusCost
	}
	mine := priorityVector(v.Root, v.Cost, v.Designated, v.DesigPort)
	theirs := priorityVector(b.Root, cost, b.Bridge, b.PortID)
	switch c := bytes.Compare(theirs[:], mine[:]); {
	case c == 0:
		v.Stamp = v.now
	case c < 0 || p == v.RootPort:
		v.adopt(p, b, cost)
	case b.Root == v.Root:
		senderRoot := b.Flags&(FlagNotAlt|FlagNotRoot) == FlagNotAlt // the link is the sender's root port
		if senderRoot && v.backup[p] {
			v.unblock(p)
			v.topologyChange(p)
		} else if !senderRoot && !v.backup[p] {
			v.block(p)
			v.topologyChange(p)
		}
	default:
		v.sendBPDU(p, false, false) // a worse root: tell it ours
	}
}

// adopt takes the better root information received on p and runs VDE's
// fast protocol: block every other FSTP port, forward on the new root port.
func (v *VLAN) adopt(p int, b BPDU, cost uint32) {
	var quirk [8]byte // VDE compares with the bytes "own MAC, 00 27"
	copy(quirk[:], v.MAC[:])
	quirk[6], quirk[7] = 0x00, 0x27
	if bytes.Compare(v.Root[:], quirk[:]) <= 0 {
		v.reset()
	}
	oldRoot := v.Root
	v.Root, v.Cost, v.Designated, v.DesigPort, v.RootPort, v.Stamp = b.Root, cost, b.Bridge, b.PortID, p, v.now
	if oldRoot != v.Root {
		v.env.Event("fstp/root", fmt.Sprintf("Port %04d VLAN %s -> %s", p, v.vlanText(), v.Root))
	}
	for _, q := range v.allMembers() {
		if q != p && v.active(q) && !v.edge[q] && !v.backup[q] {
			v.block(q)
			v.sendBPDU(q, false, false)
		}
	}
	v.unblock(p)
	v.sendBPDU(p, false, true)
	v.topologyChange(p)
}
