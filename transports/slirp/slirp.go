// Package slirp implements user-mode NAT into the host's network, the job of
// vde2's slirpvde and of vdeplug4's slirp:// plugin: a router on the virtual
// LAN whose connections are made by this process on the host, so guests reach
// the outside with no privileges.
//
// The TCP/IP side is gVisor's netstack (gvisor.dev/gvisor/pkg/tcpip): the
// Endpoint exchanges Ethernet frames with a netstack NIC through a channel
// link endpoint. The stack owns the gateway address (10.0.2.2/24 by default)
// and the DNS proxy address (10.0.2.3), answers ARP for those two only and
// ICMP echo to them; a TCP forwarder and a UDP forwarder accept every guest
// flow and the process relays it with net.Dial to the same destination on
// the host (the gateway address means the host's 127.0.0.1, the DNS address
// means the upstream resolver). A small DHCPv4 server (leases from 10.0.2.15)
// answers in front of the stack, and host->guest port forwards listen on the
// host and dial the guest inside the stack. IPv4 only.
package slirp

import (
	"context"
	"encoding/binary"
	"fmt"
	"log"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
)

const (
	nicID      = 1
	mtu        = 1500
	linkQueue  = 1024 // frames the stack may queue towards the guest
	outQueue   = 256  // frames waiting for ReadBatch
	tcpRcvWnd  = 0    // netstack default
	tcpPending = 256  // half-open guest connections the TCP forwarder holds
)

// Endpoint is a slirp router seen as a transports.Endpoint: WriteBatch takes
// frames from the virtual LAN, ReadBatch returns frames for it. ReadBatch
// and WriteBatch may run concurrently; Close may be called from any
// goroutine. WriteBatch never blocks on the network (the stack queues or
// drops), so WriteNeverBlocks reports true.
type Endpoint struct {
	cfg   Config
	r     resolved
	mac   tcpip.LinkAddress
	st    *stack.Stack
	link  *channel.Endpoint
	out   chan *frames.Buf
	done  chan struct{}
	ctx   context.Context
	stop  context.CancelFunc
	once  sync.Once
	wg    sync.WaitGroup
	dhcp  *dhcpServer
	flows flowLimiter
	fwds  []closer

	wdrops, rdrops atomic.Uint64
}

type closer interface{ Close() error }

// GatewayMAC returns slirpvde's MAC for a virtual address: 52:55 followed by
// the four IPv4 bytes.
func GatewayMAC(a netip.Addr) [6]byte {
	b := a.As4()
	return [6]byte{0x52, 0x55, b[0], b[1], b[2], b[3]}
}

// New starts a slirp router with cfg: the stack, the NAT forwarders and the
// host listeners of the port forwards. It fails if an address is invalid or
// a forward cannot listen.
func New(cfg Config) (*Endpoint, error) {
	r, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	if cfg.MaxFlows <= 0 {
		cfg.MaxFlows = DefaultMaxFlows
	}
	if cfg.UDPIdle <= 0 {
		cfg.UDPIdle = DefaultUDPIdle
	}
	if cfg.Logf == nil {
		l := log.New(os.Stderr, "slirp: ", 0)
		cfg.Logf = l.Printf
	}
	if cfg.Describe == "" {
		cfg.Describe = "slirp://"
	}
	if r.upstream == "" {
		cfg.Logf("no nameserver in /etc/resolv.conf: queries to the DNS address %v go unanswered", r.dns)
	}
	gm := GatewayMAC(r.host)
	e := &Endpoint{
		cfg:  cfg,
		r:    r,
		mac:  tcpip.LinkAddress(gm[:]),
		out:  make(chan *frames.Buf, outQueue),
		done: make(chan struct{}),
	}
	e.flows.max = int64(cfg.MaxFlows)
	e.flows.logf = cfg.Logf
	e.ctx, e.stop = context.WithCancel(context.Background())
	if cfg.DHCP {
		e.dhcp = newDHCPServer(r, gm)
	}
	if err := e.startStack(); err != nil {
		e.stop()
		return nil, err
	}
	if err := e.startForwards(); err != nil {
		e.Close()
		return nil, err
	}
	e.wg.Add(1)
	go e.pump()
	return e, nil
}

// startStack builds the netstack: one NIC, the gateway and DNS addresses,
// a default route, and the TCP/UDP forwarders.
func (e *Endpoint) startStack() error {
	e.st = stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4},
		HandleLocal:        false,
	})
	e.link = channel.New(linkQueue, mtu, e.mac)
	if err := e.st.CreateNIC(nicID, ethernet.New(e.link)); err != nil {
		return fmt.Errorf("slirp: create NIC: %s", err)
	}
	for _, a := range []netip.Prefix{netip.PrefixFrom(e.r.host, e.r.prefix.Bits()), netip.PrefixFrom(e.r.dns, 32)} {
		pa := tcpip.ProtocolAddress{
			Protocol:          ipv4.ProtocolNumber,
			AddressWithPrefix: tcpip.AddrFrom4(a.Addr().As4()).WithPrefix(),
		}
		pa.AddressWithPrefix.PrefixLen = a.Bits()
		if err := e.st.AddProtocolAddress(nicID, pa, stack.AddressProperties{}); err != nil {
			return fmt.Errorf("slirp: add address %v: %s", a, err)
		}
	}
	// Accept packets for any destination (the NAT) and send from any source
	// (replies of the NATed hosts). ARP for other addresses is filtered in
	// WriteBatch, so the stack answers ARP only for the gateway and DNS.
	if err := e.st.SetPromiscuousMode(nicID, true); err != nil {
		return fmt.Errorf("slirp: promiscuous: %s", err)
	}
	if err := e.st.SetSpoofing(nicID, true); err != nil {
		return fmt.Errorf("slirp: spoofing: %s", err)
	}
	e.st.SetRouteTable([]tcpip.Route{{Destination: header.IPv4EmptySubnet, NIC: nicID}})
	tf := tcp.NewForwarder(e.st, tcpRcvWnd, tcpPending, e.handleTCP)
	e.st.SetTransportProtocolHandler(tcp.ProtocolNumber, tf.HandlePacket)
	uf := udp.NewForwarder(e.st, e.handleUDP)
	e.st.SetTransportProtocolHandler(udp.ProtocolNumber, uf.HandlePacket)
	return nil
}

// pump moves frames the stack sends from the link endpoint to e.out.
func (e *Endpoint) pump() {
	defer e.wg.Done()
	for {
		pkt := e.link.ReadContext(e.ctx)
		if pkt == nil {
			return
		}
		f := frames.Get(pkt.Size())
		n := 0
		sp := f.Space()
		for _, s := range pkt.AsSlices() {
			n += copy(sp[n:], s)
		}
		pkt.DecRef()
		f.SetLen(n)
		select {
		case e.out <- f:
		case <-e.done:
			f.Release()
			return
		}
	}
}

// emit queues a frame built by the endpoint itself (DHCP) for ReadBatch,
// dropping it if the queue is full. It takes over f's reference.
func (e *Endpoint) emit(f *frames.Buf) {
	select {
	case e.out <- f:
	default:
		e.rdrops.Add(1)
		f.Release()
	}
}

// ReadBatch implements transports.Endpoint: it blocks until the router has
// a frame for the virtual LAN, then appends every frame ready now.
func (e *Endpoint) ReadBatch(b *frames.Batch) error {
	select {
	case f := <-e.out:
		b.Add(f)
	case <-e.done:
		return transports.ErrClosed
	}
	for !b.Full() {
		select {
		case f := <-e.out:
			b.Add(f)
		default:
			return nil
		}
	}
	return nil
}

// WriteBatch implements transports.Endpoint: every frame is handed to the
// router (DHCP server or netstack). Frames not addressed to the router's
// MAC (or broadcast/multicast), ARP requests for addresses it does not own,
// and malformed frames are dropped. The caller keeps b.
func (e *Endpoint) WriteBatch(b *frames.Batch) error {
	select {
	case <-e.done:
		return transports.ErrClosed
	default:
	}
	for _, f := range b.Slice() {
		e.input(f.Bytes())
	}
	return nil
}

// input handles one frame from the virtual LAN.
func (e *Endpoint) input(p []byte) {
	if len(p) < header.EthernetMinimumSize || len(p) > mtu+header.EthernetMinimumSize {
		e.wdrops.Add(1)
		return
	}
	dst := p[0:6]
	if dst[0]&1 == 0 && string(dst) != string(e.mac) {
		return // unicast to someone else: not for the router
	}
	switch binary.BigEndian.Uint16(p[12:14]) {
	case uint16(header.ARPProtocolNumber):
		a := header.ARP(p[header.EthernetMinimumSize:])
		if !a.IsValid() {
			e.wdrops.Add(1)
			return
		}
		if a.Op() == header.ARPRequest && !e.owns(a.ProtocolAddressTarget()) {
			return
		}
	case uint16(header.IPv4ProtocolNumber):
		if e.dhcp != nil && e.dhcp.handle(e, p) {
			return
		}
	default:
		return // IPv6 and others: not served
	}
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(p)})
	e.link.InjectInbound(0, pkt)
	pkt.DecRef()
}

// owns reports whether the 4-byte IPv4 address a is the gateway or DNS.
func (e *Endpoint) owns(a []byte) bool {
	if len(a) != 4 {
		return false
	}
	ip := netip.AddrFrom4([4]byte(a))
	return ip == e.r.host || ip == e.r.dns
}

// WriteNeverBlocks implements transports.NonBlocking.
func (e *Endpoint) WriteNeverBlocks() bool { return true }

// Drops implements transports.DropCounter: malformed frames from the LAN
// (write) and frames for the LAN dropped on a full queue (read).
func (e *Endpoint) Drops() (write, read uint64) { return e.wdrops.Load(), e.rdrops.Load() }

// Describe implements transports.Endpoint.
func (e *Endpoint) Describe() string { return e.cfg.Describe }

// Flows reports the number of NAT flows open now.
func (e *Endpoint) Flows() int { return int(e.flows.n.Load()) }

// Close stops the router: it closes the forward listeners, every flow and
// the stack, and wakes a pending ReadBatch. It is safe to call more than
// once.
func (e *Endpoint) Close() error {
	e.once.Do(func() {
		close(e.done)
		e.stop()
		for _, c := range e.fwds {
			c.Close()
		}
		// Closing the stack aborts every endpoint, including handshakes a
		// TCP forwarder handler may be blocked in; then the flows end.
		e.st.Close()
		e.flows.shutdown()
		e.link.Close()
		e.wg.Wait()
		e.st.Wait()
		for {
			select {
			case f := <-e.out:
				f.Release()
				continue
			default:
			}
			break
		}
	})
	return nil
}

var (
	_ transports.Endpoint    = (*Endpoint)(nil)
	_ transports.NonBlocking = (*Endpoint)(nil)
	_ transports.DropCounter = (*Endpoint)(nil)
)

// HostPrefix returns the gateway address with the network's prefix length.
func (e *Endpoint) HostPrefix() netip.Prefix { return netip.PrefixFrom(e.r.host, e.r.prefix.Bits()) }

// DNSAddr returns the DNS proxy address.
func (e *Endpoint) DNSAddr() netip.Addr { return e.r.dns }

// DHCPStart returns the first address the DHCP server leases.
func (e *Endpoint) DHCPStart() netip.Addr { return e.r.dhcpStart }
