// Package fstp is VDE's fast spanning tree: one independent instance per
// VLAN (PVST-like), RSTP's BPDU format with VDE's own flag encoding and
// state machine (spec vde_switch.md §4), no forward-delay timers. The
// algorithm is the plain type VLAN, driven by events and acting through an
// Env, so it can be simulated; the actor in actor.go runs one VLAN inside a
// switch, exchanging BPDUs through the fabric.
package fstp

import (
	"encoding/binary"
	"errors"
)

const (
	// PortCost is the cost every port adds (no command changes it).
	PortCost = 20000000
	// HelloTime is the period of hello BPDUs, seconds.
	HelloTime = 4
	// MaxAge is the age after which root information is dropped (3 hellos).
	MaxAge = 3 * HelloTime
)

// Flags of VDE's BPDU encoding.
const (
	FlagTC        = 0x01 // topology change
	FlagAltBackup = 0x02 // the sender's port is Alternate/Backup
	FlagNotAlt    = 0x04 // the sender's port is not Alternate/Backup
	FlagNotRoot   = 0x08 // the sender's port is not its root port
	FlagLearning  = 0x10
	FlagForward   = 0x30 // learning+forwarding state bits
	FlagAgreement = 0x40
)

// BridgeID is priority (big endian) followed by the switch MAC.
type BridgeID [8]byte

// NewBridgeID builds a bridge id.
func NewBridgeID(priority uint16, mac [6]byte) BridgeID {
	var b BridgeID
	binary.BigEndian.PutUint16(b[:], priority)
	copy(b[2:], mac[:])
	return b
}

// String prints the id as fstp/print does (8 hex bytes with colons).
func (b BridgeID) String() string {
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 23)
	for i, v := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, hex[v>>4], hex[v&15])
	}
	return string(out)
}

// AllOnes is the designated bridge of a VLAN in its reset state.
var AllOnes = BridgeID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// BPDU is the content VDE puts in a BPDU.
type BPDU struct {
	Flags  byte
	Root   BridgeID
	Cost   uint32
	Bridge BridgeID
	PortID uint16
	Age    uint16 // seconds, little endian on the wire
}

// PortID encodes port n as VDE does: 0x80 | n>>4, then n & 0xff (sic).
func PortID(n int) uint16 { return uint16(0x80|byte(n>>4))<<8 | uint16(byte(n)) }

var bpduDst = [6]byte{0x01, 0x80, 0xc2, 0x00, 0x00, 0x00}

// Encode writes the BPDU frame from src into p (57 bytes are enough) and
// returns its length: 53 untagged, 57 with an 802.1Q tag for vlan when
// tagged.
func (b *BPDU) Encode(p []byte, src [6]byte, tagged bool, vlan uint16) int {
	copy(p[0:], bpduDst[:])
	copy(p[6:], src[:])
	o := 12
	if tagged {
		p[12], p[13] = 0x81, 0x00
		p[14], p[15] = byte(vlan>>8)&0x0f, byte(vlan)
		o = 16
	}
	p[o], p[o+1] = 0x00, 0x27 // 802.3 length 39
	p[o+2], p[o+3], p[o+4] = 0x42, 0x42, 0x03
	p[o+5], p[o+6] = 0, 0 // protocol id
	p[o+7], p[o+8] = 2, 2 // version, type
	p[o+9] = b.Flags
	copy(p[o+10:], b.Root[:])
	binary.BigEndian.PutUint32(p[o+18:], b.Cost)
	copy(p[o+22:], b.Bridge[:])
	binary.BigEndian.PutUint16(p[o+30:], b.PortID)
	binary.LittleEndian.PutUint16(p[o+32:], b.Age)
	binary.LittleEndian.PutUint16(p[o+34:], 40) // max age, as VDE writes it
	binary.LittleEndian.PutUint16(p[o+36:], HelloTime)
	p[o+38], p[o+39] = 0, 0
	p[o+40] = 0
	return o + 41
}

// ErrBPDU is returned for frames that are not VDE BPDUs.
var ErrBPDU = errors.New("not a version 2 type 2 BPDU")

// Parse reads a BPDU frame (tagged or not).
func Parse(p []byte) (BPDU, error) {
	var b BPDU
	o := 12
	if len(p) >= 16 && p[12] == 0x81 && p[13] == 0x00 {
		o = 16
	}
	if len(p)-o+12 < 51 || len(p) < o+34 {
		return b, ErrBPDU
	}
	if p[o+7] != 2 || p[o+8] != 2 {
		return b, ErrBPDU
	}
	b.Flags = p[o+9]
	copy(b.Root[:], p[o+10:o+18])
	b.Cost = binary.BigEndian.Uint32(p[o+18:])
	copy(b.Bridge[:], p[o+22:o+30])
	b.PortID = binary.BigEndian.Uint16(p[o+30:])
	b.Age = binary.LittleEndian.Uint16(p[o+32:])
	return b, nil
}
