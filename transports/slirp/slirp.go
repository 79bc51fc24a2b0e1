// Package slirp implements user-mode NAT into the host's network, the job of
// vde2's slirpvde (and slirpvde6) and of vdeplug4's slirp:// plugin: a router
// on the virtual LAN whose connections are made by this process on the
// host, so guests reach the outside with no privileges.
//
// The TCP/IP side is gVisor's netstack (gvisor.dev/gvisor/pkg/tcpip): the
// Endpoint exchanges Ethernet frames with a netstack NIC through a channel
// link endpoint. The stack owns the gateway addresses (10.0.2.2/24 and
// fd00::2/64 by default), the DNS proxy addresses (10.0.2.3, fd00::3) and
// the router's link-local fe80::2, answers ARP and neighbour solicitations
// for those only and ICMP echo to them; a TCP forwarder and a UDP forwarder
// accept every guest flow and the process relays it with net.Dial to the
// same destination on the host (the gateway means the host's 127.0.0.1 or
// ::1, the DNS address the upstream resolver, ::ffff:a.b.c.d and
// 64:ff9b::a.b.c.d the IPv4 host a.b.c.d). In front of the stack the
// Endpoint answers DHCPv4 (leases from 10.0.2.15), router solicitations
// (SLAAC on the /64), DHCPv6 and echo requests to outside hosts (real pings
// from the host). Host->guest port forwards listen on the host and dial
// the guest inside the stack; Console serves them at run time.
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
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
)

const (
	nicID      = 1
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
	dhcp6 *dhcp6Server
	flows flowLimiter
	fwds  forwards
	echo  echoNAT

	wdrops, rdrops atomic.Uint64
	// onlyLoopback (tests) NATs to loopback hosts only.
	onlyLoopback bool
}

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
	if cfg.ICMPIdle <= 0 {
		cfg.ICMPIdle = DefaultICMPIdle
	}
	if cfg.RAInterval <= 0 {
		cfg.RAInterval = DefaultRAInterval
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
		e.dhcp6 = newDHCP6Server(r, gm)
	}
	e.echo.init()
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
	if cfg.RA {
		e.wg.Add(1)
		go e.advertise()
	}
	return e, nil
}

// startStack builds the netstack: one NIC, the gateway and DNS addresses
// (IPv4 and IPv6) and the router's link-local address, default routes, and
// the TCP/UDP forwarders.
func (e *Endpoint) startStack() error {
	e.st = stack.New(stack.Options{
		NetworkProtocols: []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol,
			// No DAD, router solicitations, SLAAC or MLD: the router only
			// answers for its own fixed addresses.
			ipv6.NewProtocolWithOptions(ipv6.Options{})},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4, icmp.NewProtocol6},
		HandleLocal:        false,
	})
	// The channel carries whole Ethernet frames: ethernet.New subtracts
	// the header, so the stack's MTU (and the MSS it advertises) is mtu.
	e.link = channel.New(linkQueue, uint32(e.r.mtu+header.EthernetMinimumSize), e.mac)
	if err := e.st.CreateNIC(nicID, ethernet.New(e.link)); err != nil {
		return fmt.Errorf("slirp: create NIC: %s", err)
	}
	addrs := []netip.Prefix{
		netip.PrefixFrom(e.r.host, e.r.prefix.Bits()), netip.PrefixFrom(e.r.dns, 32),
		netip.PrefixFrom(e.r.host6, 64), netip.PrefixFrom(e.r.dns6, 128), netip.PrefixFrom(e.r.ll6, 64),
	}
	for _, a := range addrs {
		pa := tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: tcpAddr(a.Addr()).WithPrefix()}
		if a.Addr().Is6() {
			pa.Protocol = ipv6.ProtocolNumber
		}
		pa.AddressWithPrefix.PrefixLen = a.Bits()
		if err := e.st.AddProtocolAddress(nicID, pa, stack.AddressProperties{}); err != nil {
			return fmt.Errorf("slirp: add address %v: %s", a, err)
		}
	}
	// Accept packets for any destination (the NAT) and send from any source
	// (replies of the NATed hosts). ARP and neighbour solicitations for
	// other addresses are filtered in WriteBatch, so the stack answers
	// them only for its own addresses.
	if err := e.st.SetPromiscuousMode(nicID, true); err != nil {
		return fmt.Errorf("slirp: promiscuous: %s", err)
	}
	if err := e.st.SetSpoofing(nicID, true); err != nil {
		return fmt.Errorf("slirp: spoofing: %s", err)
	}
	e.st.SetRouteTable([]tcpip.Route{
		{Destination: header.IPv4EmptySubnet, NIC: nicID},
		{Destination: header.IPv6EmptySubnet, NIC: nicID},
	})
	tf := tcp.NewForwarder(e.st, tcpRcvWnd, tcpPending, e.handleTCP)
	e.st.SetTransportProtocolHandler(tcp.ProtocolNumber, tf.HandlePacket)
	uf := udp.NewForwarder(e.st, e.handleUDP)
	e.st.SetTransportProtocolHandler(udp.ProtocolNumber, uf.HandlePacket)
	return nil
}

// tcpAddr converts a netip address for netstack.
func tcpAddr(a netip.Addr) tcpip.Address {
	if a.Is4() {
		return tcpip.AddrFrom4(a.As4())
	}
	return tcpip.AddrFrom16(a.As16())
}

// netipAddr converts a netstack address.
func netipAddr(a tcpip.Address) netip.Addr {
	if a.Len() == 4 {
		return netip.AddrFrom4(a.As4())
	}
	return netip.AddrFrom16(a.As16())
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
		unmapOutgoing(f.Bytes())
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
	if len(p) < header.EthernetMinimumSize || len(p) > e.r.mtu+header.EthernetMinimumSize {
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
		if e.echoRequest4(p) {
			return
		}
	case uint16(header.IPv6ProtocolNumber):
		if !e.input6(p) {
			return
		}
	default:
		return // other protocols: not served
	}
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(p)})
	e.link.InjectInbound(0, pkt)
	pkt.DecRef()
}

// input6 handles what the router does itself with an IPv6 frame (router
// solicitations, DHCPv6, echo requests to NATed hosts), drops what the
// stack must not see (neighbour solicitations for addresses the router
// does not own, router advertisements and redirects from guests), maps
// ::ffff:0:0/96 destinations for the stack, and reports whether the
// frame goes on to the stack.
func (e *Endpoint) input6(p []byte) bool {
	ip := p[header.EthernetMinimumSize:]
	if len(ip) < header.IPv6MinimumSize || ip[0]>>4 != 6 {
		e.wdrops.Add(1)
		return false
	}
	if pl := int(binary.BigEndian.Uint16(ip[4:6])); header.IPv6MinimumSize+pl <= len(ip) {
		ip = ip[:header.IPv6MinimumSize+pl]
	}
	src := netip.AddrFrom16([16]byte(ip[8:24]))
	dst := netip.AddrFrom16([16]byte(ip[24:40]))
	if src.IsMulticast() || src.Is4In6() {
		e.wdrops.Add(1)
		return false
	}
	body := ip[header.IPv6MinimumSize:]
	switch ip[6] {
	case uint8(header.ICMPv6ProtocolNumber):
		if len(body) < 4 {
			e.wdrops.Add(1)
			return false
		}
		switch header.ICMPv6Type(body[0]) {
		case header.ICMPv6RouterSolicit:
			if e.cfg.RA {
				e.sendRA(p[6:12], src)
			}
			return false
		case header.ICMPv6RouterAdvert, header.ICMPv6RedirectMsg:
			return false
		case header.ICMPv6NeighborSolicit:
			if len(body) < 24 || !e.owns6(netip.AddrFrom16([16]byte(body[8:24]))) {
				return false
			}
		case header.ICMPv6EchoRequest:
			if !e.owns6(dst) {
				if !dst.IsMulticast() {
					e.echoRequest6(p, ip)
				}
				return false
			}
		}
	case uint8(header.UDPProtocolNumber):
		if len(body) >= 8 && binary.BigEndian.Uint16(body[2:4]) == dhcp6ServerPort {
			if e.dhcp6 != nil {
				e.dhcp6.handle(e, p[6:12], src, ip, body)
			}
			return false
		}
	}
	if dst.Is4In6() {
		mapIncoming(ip)
	}
	return true
}

// owns reports whether the 4-byte IPv4 address a is the gateway or DNS.
func (e *Endpoint) owns(a []byte) bool {
	if len(a) != 4 {
		return false
	}
	ip := netip.AddrFrom4([4]byte(a))
	return ip == e.r.host || ip == e.r.dns
}

// owns6 reports whether a is one of the router's IPv6 addresses.
func (e *Endpoint) owns6(a netip.Addr) bool {
	return a == e.r.host6 || a == e.r.dns6 || a == e.r.ll6
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
		e.fwds.closeAll()
		e.echo.closeAll()
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

// Host6Prefix returns the gateway's IPv6 address with the /64.
func (e *Endpoint) Host6Prefix() netip.Prefix { return netip.PrefixFrom(e.r.host6, 64) }

// DNS6Addr returns the IPv6 DNS proxy address.
func (e *Endpoint) DNS6Addr() netip.Addr { return e.r.dns6 }

// DHCP6Start returns the first address the DHCPv6 server assigns.
func (e *Endpoint) DHCP6Start() netip.Addr { return e.r.dhcp6Start }
