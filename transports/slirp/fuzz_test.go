package slirp

import (
	"net/netip"
	"testing"

	"github.com/govde/govde/frames"
)

// FuzzWriteBatch feeds arbitrary frames to the packet entry: nothing may
// panic, and the endpoint keeps working (it still answers ARP afterwards).
func FuzzWriteBatch(f *testing.F) {
	f.Add(dhcpFrame(clientMAC, 1, dhcpDiscover, netip.Addr{}))
	f.Add(dhcpFrame(clientMAC, 2, dhcpRequest, guestIP))
	f.Add(arpRequest(gw))
	f.Add([]byte{})
	f.Add(make([]byte, 60))
	e, err := New(Config{DHCP: true, DNSUpstream: "127.0.0.1:1", Logf: func(string, ...any) {}})
	if err != nil {
		f.Fatal(err)
	}
	defer e.Close()
	f.Fuzz(func(t *testing.T, p []byte) {
		b := frames.GetBatch()
		b.Add(frames.GetCopy(p))
		if len(p) >= 14 {
			// The same bytes addressed to the router, as IPv4 and as ARP.
			q := append([]byte(nil), p...)
			m := GatewayMAC(gw)
			copy(q[0:6], m[:])
			q[12], q[13] = 0x08, 0x00
			b.Add(frames.GetCopy(q))
			r := append([]byte(nil), q...)
			r[13] = 0x06
			b.Add(frames.GetCopy(r))
		}
		if err := e.WriteBatch(b); err != nil {
			t.Fatal(err)
		}
		b.Release()
		for len(e.out) > 0 {
			(<-e.out).Release()
		}
	})
}
