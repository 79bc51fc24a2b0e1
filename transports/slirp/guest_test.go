package slirp

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"

	"github.com/govde/govde/frames"
)

var guestMAC = tcpip.LinkAddress([]byte{0x52, 0x54, 0, 0x12, 0x34, 0x56})

// guest is a second netstack acting as the virtual machine, wired to a
// slirp Endpoint frame by frame.
type guest struct {
	st *stack.Stack
}

// newGuest starts a guest stack with address addr/24 and default route via
// gw, and two goroutines moving frames between it and e until the test ends.
func newGuest(t *testing.T, e *Endpoint, addr, gw netip.Addr) *guest {
	t.Helper()
	st := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol},
	})
	g := wireGuest(t, e, st)
	pa := tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4(addr.As4()), PrefixLen: 24}}
	if err := st.AddProtocolAddress(1, pa, stack.AddressProperties{}); err != nil {
		t.Fatal(err)
	}
	st.SetRouteTable([]tcpip.Route{{Destination: header.IPv4EmptySubnet, Gateway: tcpip.AddrFrom4(gw.As4()), NIC: 1}})
	return g
}

// wireGuest gives st a NIC (1) joined to e frame by frame until the test
// ends.
func wireGuest(t *testing.T, e *Endpoint, st *stack.Stack) *guest {
	t.Helper()
	link := channel.New(256, uint32(e.r.mtu+14), guestMAC) // whole Ethernet frames
	if err := st.CreateNIC(1, ethernet.New(link)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { // guest -> slirp
		defer func() { done <- struct{}{} }()
		b := frames.GetBatch()
		defer b.Recycle()
		for {
			pkt := link.ReadContext(ctx)
			if pkt == nil {
				return
			}
			f := frames.Get(pkt.Size())
			n := 0
			for _, s := range pkt.AsSlices() {
				n += copy(f.Space()[n:], s)
			}
			f.SetLen(n)
			pkt.DecRef()
			b.Add(f)
			e.WriteBatch(b)
			b.ReleaseFrames()
		}
	}()
	go func() { // slirp -> guest
		defer func() { done <- struct{}{} }()
		b := frames.GetBatch()
		defer b.Recycle()
		for {
			if err := e.ReadBatch(b); err != nil {
				return
			}
			for _, f := range b.Slice() {
				pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(f.Bytes())})
				link.InjectInbound(0, pkt)
				pkt.DecRef()
			}
			b.ReleaseFrames()
		}
	}()
	t.Cleanup(func() {
		cancel()
		e.Close()
		<-done
		<-done
		link.Close()
		st.Close()
		st.Wait()
	})
	return &guest{st: st}
}

// addr4 converts a netip address for netstack.
func addr4(a netip.Addr, port uint16) tcpip.FullAddress {
	return tcpip.FullAddress{NIC: 1, Addr: tcpip.AddrFrom4(a.As4()), Port: port}
}

// newSlirp starts an Endpoint with cfg whose log goes to the test.
func newSlirp(t *testing.T, cfg Config) *Endpoint {
	t.Helper()
	if cfg.Logf == nil {
		cfg.Logf = t.Logf
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// deadline is the time limit of one network operation in tests.
func deadline() time.Time { return time.Now().Add(5 * time.Second) }
