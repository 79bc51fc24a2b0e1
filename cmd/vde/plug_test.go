package main

import (
	"reflect"
	"testing"

	"github.com/govde/govde/frames"
)

func ipv4Frame(tag int, src [4]byte) []byte {
	p := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1}
	if tag >= 0 {
		p = append(p, 0x81, 0x00, byte(tag>>8), byte(tag))
	}
	p = append(p, 0x08, 0x00)
	ip := make([]byte, 20)
	ip[0] = 0x45
	copy(ip[12:], src[:])
	return append(p, ip...)
}

func ipv6Frame(src [16]byte) []byte {
	p := []byte{0x33, 0x33, 0, 0, 0, 1, 2, 0, 0, 0, 0, 1, 0x86, 0xdd}
	ip := make([]byte, 40)
	ip[0] = 0x60
	copy(ip[8:], src[:])
	return append(p, ip...)
}

// -L logs each new source address once, looking through one 802.1Q tag.
func TestPlugIPLog(t *testing.T) {
	var lines []string
	l := &plugLog{who: "alice", realIP: "192.0.2.7", iplog: true, seen: map[[17]byte]struct{}{},
		out: func(s string) { lines = append(lines, s) }}
	b := frames.GetBatch()
	for _, p := range [][]byte{
		ipv4Frame(-1, [4]byte{10, 0, 0, 1}),
		ipv4Frame(-1, [4]byte{10, 0, 0, 1}), // seen already
		ipv4Frame(7, [4]byte{10, 0, 7, 2}),
		ipv6Frame([16]byte{0xfd, 0, 15: 1}),
		{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x08, 0x06, 0, 1}, // ARP: ignored
	} {
		b.Add(frames.GetCopy(p))
	}
	l.frames(b)
	b.Release()
	want := []string{
		"user alice Real-IP 192.0.2.7 has got VDE-IP4 10.0.0.1 on vlan 0",
		"user alice Real-IP 192.0.2.7 has got VDE-IP4 10.0.7.2 on vlan 7",
		"user alice Real-IP 192.0.2.7 has got VDE-IP6 fd00::1 on vlan 0",
	}
	if !reflect.DeepEqual(lines, want) {
		t.Fatalf("got %q\nwant %q", lines, want)
	}
}

func TestPlugFlags(t *testing.T) {
	f, code := parsePlugFlags("vde_plug", []string{"-m", "660", "--port2", "5", "-D", "x", "/a", "=", "ssh", "-x", "h"})
	if f == nil {
		t.Fatalf("exit %d", code)
	}
	if f.args[0].Mode != 0660 || f.args[1].Port != 5 || f.args[0].Descr != "x" ||
		!reflect.DeepEqual(f.vnls, []string{"/a"}) || !reflect.DeepEqual(f.command, []string{"ssh", "-x", "h"}) {
		t.Fatalf("%+v", f)
	}
	for _, bad := range [][]string{{"a", "b", "c"}, {"--port", "0"}, {"="}, {"-q"}} {
		if f, _ := parsePlugFlags("vde_plug", bad); f != nil {
			t.Fatalf("%q accepted", bad)
		}
	}
}

func TestSwitchFlags(t *testing.T) {
	var out, errb nopWriter
	f, _ := parseSwitchFlags("vde_switch", []string{"-numports", "6", "-hub", "-F", "--macaddr", "2.0.0.0.1.1", "--priority", "0x1000", "-m", "660"}, &out, &errb)
	if f == nil || f.numPorts != 6 || !f.hub || f.fstp || f.mac != (frames.MAC{2, 0, 0, 0, 1, 1}) || f.priority != 0x1000 || f.mode != 0660 || !f.modeSet {
		t.Fatalf("%+v", f)
	}
	if f, code := parseSwitchFlags("vde_switch", []string{"--macaddr", "zz"}, &out, &errb); f != nil || code != 1 {
		t.Fatal("bad MAC accepted")
	}
	if f, code := parseSwitchFlags("vde_switch", []string{"-v"}, &out, &errb); f != nil || code != 0 {
		t.Fatal("-v")
	}
	if cInt("0x10") != 16 || cInt("010") != 8 || cInt("12abc") != 12 || cInt("zz") != 0 {
		t.Fatal("cInt")
	}
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }
