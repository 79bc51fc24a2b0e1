package slirp

import (
	"testing"

	"github.com/govde/govde/frames"
)

// Frames a switch floods to every port but that are not for the router
// (unicast to another MAC, IPv6, other ethertypes) are dropped before the
// stack without allocating.
func TestFilteredFramesDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under -race")
	}
	e := newSlirp(t, Config{DHCP: true, DNSUpstream: "127.0.0.1:1"})
	other := make([]byte, 60)
	copy(other, []byte{0x52, 0x54, 0, 0, 0, 9})
	other[12], other[13] = 0x08, 0x00
	v6 := make([]byte, 60)
	copy(v6, []byte{0x33, 0x33, 0, 0, 0, 1})
	v6[12], v6[13] = 0x86, 0xdd
	b := frames.GetBatch()
	b.Add(frames.GetCopy(other))
	b.Add(frames.GetCopy(v6))
	defer b.Release()
	if n := testing.AllocsPerRun(1000, func() { e.WriteBatch(b) }); n != 0 {
		t.Fatalf("%v allocations per batch", n)
	}
}
