package fstp

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// The frames the real switch sends (captured, spec §4.2).
func TestBPDUBytesMatchCapture(t *testing.T) {
	mac := [6]byte{2, 0, 0, 0, 1, 1}
	self := NewBridgeID(0x1000, mac)
	b := BPDU{Flags: 0x7c, Root: self, Bridge: self, PortID: PortID(1)}
	var p [64]byte
	n := b.Encode(p[:], mac, false, 0)
	want := unhex("0180c2000000 020000000101 0027 424203 0000 02 02 7c 1000020000000101 00000000 1000020000000101 8001 0000 2800 0400 0000 00")
	if !bytes.Equal(p[:n], want) {
		t.Fatalf("untagged\n got % x\nwant % x", p[:n], want)
	}
	n = b.Encode(p[:], mac, true, 7)
	want = unhex("0180c2000000 020000000101 8100 0007 0027 424203 0000 02 02 7c 1000020000000101 00000000 1000020000000101 8001 0000 2800 0400 0000 00")
	if !bytes.Equal(p[:n], want) {
		t.Fatalf("tagged\n got % x\nwant % x", p[:n], want)
	}
	// after adopting a better root on port 1
	other := BridgeID{0x00, 0x01, 2, 0, 0, 0, 9, 9}
	b = BPDU{Flags: 0x74, Root: other, Cost: PortCost, Bridge: self, PortID: PortID(1)}
	n = b.Encode(p[:], mac, false, 0)
	want = unhex("0180c2000000 020000000101 0027 424203 0000 02 02 74 0001020000000909 01312d00 1000020000000101 8001 0000 2800 0400 0000 00")
	if !bytes.Equal(p[:n], want) {
		t.Fatalf("root port\n got % x\nwant % x", p[:n], want)
	}
	if PortID(17) != 0x8111 {
		t.Fatalf("PortID(17) = %04x", PortID(17))
	}
	got, err := Parse(want)
	if err != nil || got.Root != other || got.Cost != PortCost || got.Flags != 0x74 || got.PortID != 0x8001 {
		t.Fatalf("%+v %v", got, err)
	}
	for _, bad := range [][]byte{want[:40], append(append([]byte{}, want[:19]...), 3, 2)} {
		if _, err := Parse(bad); err == nil {
			t.Fatalf("accepted % x", bad)
		}
	}
}

type recEnv struct {
	sent    []int
	blocked map[int]bool
}

func (e *recEnv) Send(p int, _ []byte)     { e.sent = append(e.sent, p) }
func (e *recEnv) SetBlocked(p int, b bool) { e.blocked[p] = b }
func (e *recEnv) Flush()                   {}
func (e *recEnv) Event(string, string)     {}
func newTestVLAN() (*VLAN, *recEnv) {
	env := &recEnv{blocked: map[int]bool{}}
	v := NewVLAN(0, 0x8000, [6]byte{2, 0, 0, 0, 0, 5}, env)
	v.SetOn(true)
	for p := 1; p <= 3; p++ {
		v.Join(p, false)
	}
	return v, env
}

// A spoofed BPDU claiming a better root blocks the other ports, but only
// while it keeps coming: once the root information is older than 12 s the
// VLAN resets and every port forwards again.
func TestSpoofedBPDUDoesNotBlockForever(t *testing.T) {
	v, env := newTestVLAN()
	var p [64]byte
	spoof := BPDU{Flags: 0x7c, Root: BridgeID{0, 0, 6, 6, 6, 6, 6, 6}, Bridge: BridgeID{0, 0, 6, 6, 6, 6, 6, 6}, PortID: 0x8001}
	n := spoof.Encode(p[:], [6]byte{6, 6, 6, 6, 6, 6}, false, 0)
	for q := 2; q <= 3; q++ { // make ports 2 and 3 FSTP-active
		v.Receive(q, p[:n])
	}
	v.Receive(1, p[:n])
	if v.RootPort == 0 {
		t.Fatal("better root not adopted")
	}
	for now := int64(1); now <= 40; now++ {
		v.Tick(now)
	}
	if v.RootPort != 0 {
		t.Fatalf("stale root kept: root port %d", v.RootPort)
	}
	for q, b := range env.blocked {
		if b {
			t.Fatalf("port %d still blocked", q)
		}
	}
}

// Arbitrary frames on any port never panic, and a switch that stops
// hearing them forwards on every port again.
func FuzzReceive(f *testing.F) {
	var p [64]byte
	b := BPDU{Flags: 0x7c, Root: BridgeID{0, 1}, Bridge: BridgeID{0, 1}, PortID: 0x8002}
	n := b.Encode(p[:], [6]byte{1}, false, 0)
	f.Add(p[:n], uint8(1))
	n = b.Encode(p[:], [6]byte{1}, true, 3)
	f.Add(p[:n], uint8(2))
	f.Add([]byte{1, 0x80, 0xc2, 0, 0, 0}, uint8(3))
	f.Fuzz(func(t *testing.T, frame []byte, port uint8) {
		v, env := newTestVLAN()
		for i := 0; i < 4; i++ {
			v.Receive(int(port%4)+1, frame)
			v.Tick(int64(i))
		}
		for now := int64(5); now <= 60; now++ {
			v.Tick(now)
		}
		for q, b := range env.blocked {
			if b {
				t.Fatalf("port %d blocked for good after %x", q, frame)
			}
		}
	})
}

// An edge port sends no hellos, ignores BPDUs and always forwards; a
// tagged member gets tagged BPDUs for its VLAN.
func TestEdgeAndTaggedPorts(t *testing.T) {
	env := &recEnv{blocked: map[int]bool{}}
	v := NewVLAN(7, 0x8000, [6]byte{2, 0, 0, 0, 0, 5}, &frameEnv{recEnv: env})
	v.SetOn(true)
	v.Join(1, false)
	v.Join(2, true)
	v.SetEdge(1, true)
	fe := v.env.(*frameEnv)
	fe.frames = map[int][]byte{}
	for now := int64(1); now <= 4; now++ {
		v.Tick(now)
	}
	if _, ok := fe.frames[1]; ok {
		t.Fatal("hello sent on an edge port")
	}
	f := fe.frames[2]
	if len(f) != 57 || f[12] != 0x81 || f[15] != 7 {
		t.Fatalf("tagged member's BPDU: % x", f)
	}
	var p [64]byte
	better := BPDU{Flags: 0x7c, Root: BridgeID{0, 1}, Bridge: BridgeID{0, 1}, PortID: 0x8001}
	n := better.Encode(p[:], [6]byte{1}, false, 0)
	v.Receive(1, p[:n])
	if v.RootPort != 0 || env.blocked[1] {
		t.Fatalf("edge port took part: root port %d blocked %v", v.RootPort, env.blocked)
	}
	v.Receive(2, p[:n])
	if v.RootPort != 2 || env.blocked[1] {
		t.Fatalf("root port %d, edge blocked %v", v.RootPort, env.blocked[1])
	}
	if v.Role(1) != RoleEdge || v.Role(2) != RoleRoot {
		t.Fatalf("roles %s %s", v.Role(1), v.Role(2))
	}
}

// frameEnv keeps the last BPDU sent on each port.
type frameEnv struct {
	*recEnv
	frames map[int][]byte
}

func (e *frameEnv) Send(p int, f []byte) {
	if e.frames != nil {
		e.frames[p] = append([]byte(nil), f...)
	}
	e.recEnv.Send(p, f)
}
