package slirp

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// dialTimeout bounds a host connect made for a guest.
const dialTimeout = 10 * time.Second

// flowLimiter counts open flows, refuses new ones beyond max (logging once
// per episode) and lets Close wait for every flow goroutine. It keeps the
// open flows for the console's flow listing.
type flowLimiter struct {
	mu      sync.Mutex
	closed  bool
	biting  bool
	n       atomic.Int64
	max     int64
	refused atomic.Uint64
	wg      sync.WaitGroup
	logf    func(string, ...any)
	open    map[*flow]struct{}
}

// flow is one NAT flow: a guest TCP connection, UDP association or ICMP
// echo association, or a connection through a port forward.
type flow struct {
	kind  string // tcp, udp, icmp, tcp-fwd, udp-fwd
	desc  string // source -> destination
	since time.Time
}

// acquire reserves a flow; nil when closed or at the limit.
func (l *flowLimiter) acquire(kind, desc string) *flow {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	if l.n.Load() >= l.max {
		l.refused.Add(1)
		if !l.biting {
			l.biting = true
			l.logf("flow limit reached (%d concurrent flows): refusing new connections, datagram and echo associations (first refused: %s %s)", l.max, kind, desc)
		}
		return nil
	}
	if l.open == nil {
		l.open = map[*flow]struct{}{}
	}
	f := &flow{kind: kind, desc: desc, since: time.Now()}
	l.open[f] = struct{}{}
	l.n.Add(1)
	l.wg.Add(1)
	return f
}

// release ends a flow acquire reserved.
func (l *flowLimiter) release(f *flow) {
	l.mu.Lock()
	delete(l.open, f)
	if l.n.Add(-1) < l.max {
		if l.biting {
			l.logf("flow limit: below %d flows again (%d refused so far)", l.max, l.refused.Load())
		}
		l.biting = false
	}
	l.mu.Unlock()
	l.wg.Done()
}

// setMax changes the limit; flows open beyond it stay.
func (l *flowLimiter) setMax(n int64) {
	l.mu.Lock()
	l.max = n
	l.mu.Unlock()
}

// limit returns the limit.
func (l *flowLimiter) limit() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.max
}

// snapshot returns the open flows.
func (l *flowLimiter) snapshot() []flow {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]flow, 0, len(l.open))
	for f := range l.open {
		out = append(out, *f)
	}
	return out
}

// shutdown refuses new flows and waits for the open ones to end (the
// caller has cancelled their context).
func (l *flowLimiter) shutdown() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.wg.Wait()
}

// flowDesc formats a flow's endpoints.
func flowDesc(src netip.Addr, sport uint16, dst netip.Addr, dport uint16) string {
	return netip.AddrPortFrom(src, sport).String() + " -> " + netip.AddrPortFrom(dst, dport).String()
}

// hostDest maps a guest destination to the host address the process
// connects to: the gateway means the host's loopback (10.0.2.2 ->
// 127.0.0.1, the IPv6 gateway -> ::1), the DNS addresses mean the upstream
// resolver (port 53 only), an IPv4 address embedded in ::ffff:0:0/96 or
// 64:ff9b::/96 is that IPv4 host (mapped the same way); other addresses
// of the virtual networks, link-local, broadcast and multicast are not
// NATed.
func (e *Endpoint) hostDest(a tcpip.Address, port uint16) (string, bool) {
	h, ok := e.hostAddr(netipAddr(a), port == 53)
	if !ok {
		return "", false
	}
	if h == upstreamDNS {
		return e.r.upstream, true
	}
	return net.JoinHostPort(h.String(), strconv.Itoa(int(port))), true
}

// upstreamDNS stands for the upstream resolver in hostAddr's answer.
var upstreamDNS = netip.IPv6Unspecified()

// hostAddr maps a guest destination address to the host address, or to
// upstreamDNS for the DNS addresses when dns is set (and a resolver is
// known).
func (e *Endpoint) hostAddr(ip netip.Addr, dns bool) (netip.Addr, bool) {
	if v4, ok := embeddedIPv4(ip); ok {
		ip = v4
	}
	switch {
	case ip == e.r.host:
		return netip.AddrFrom4([4]byte{127, 0, 0, 1}), true
	case ip == e.r.host6:
		return netip.IPv6Loopback(), true
	case ip == e.r.dns || ip == e.r.dns6:
		if !dns || e.r.upstream == "" {
			return netip.Addr{}, false
		}
		return upstreamDNS, true
	case e.r.prefix.Contains(ip), e.r.prefix6.Contains(ip), ip.IsMulticast(), ip.IsUnspecified(),
		ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}), ip.IsLinkLocalUnicast(), ip == netip.IPv6Loopback():
		return netip.Addr{}, false
	}
	if e.onlyLoopback && !ip.IsLoopback() {
		return netip.Addr{}, false // the fuzz target reaches nothing outside
	}
	return ip, true
}

// handleTCP is the TCP forwarder's handler (netstack runs it in its own
// goroutine): it connects on the host first, then accepts the guest's
// connection and relays; a host failure resets the guest's connection.
func (e *Endpoint) handleTCP(req *tcp.ForwarderRequest) {
	id := req.ID()
	dst, ok := e.hostDest(id.LocalAddress, id.LocalPort)
	if !ok {
		req.Complete(true)
		return
	}
	fl := e.flows.acquire("tcp", flowDesc(netipAddr(id.RemoteAddress), id.RemotePort, netipAddr(id.LocalAddress), id.LocalPort))
	if fl == nil {
		req.Complete(true)
		return
	}
	defer e.flows.release(fl)
	d := net.Dialer{Timeout: dialTimeout}
	hc, err := d.DialContext(e.ctx, "tcp", dst)
	if err != nil {
		req.Complete(true)
		return
	}
	var wq waiter.Queue
	ep, terr := req.CreateEndpoint(&wq)
	if terr != nil {
		hc.Close()
		req.Complete(true)
		return
	}
	req.Complete(false)
	e.relayStream(gonet.NewTCPConn(&wq, ep), hc)
}

// halfCloser is a connection whose write side can be closed alone.
type halfCloser interface{ CloseWrite() error }

// relayStream copies both ways between a and b until both directions end
// (or one fails, or the endpoint closes), then closes both.
func (e *Endpoint) relayStream(a, b net.Conn) {
	stop := context.AfterFunc(e.ctx, func() { a.Close(); b.Close() })
	defer stop()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		copyHalf(b, a)
	}()
	copyHalf(a, b)
	wg.Wait()
	a.Close()
	b.Close()
}

// copyHalf copies src to dst; at EOF it half-closes dst, on error it
// closes both so the other direction ends too.
func copyHalf(dst, src net.Conn) {
	_, err := io.Copy(dst, src)
	if err == nil {
		if h, ok := dst.(halfCloser); ok {
			h.CloseWrite()
			return
		}
	}
	dst.Close()
	src.Close()
}

// handleUDP is the UDP forwarder's handler (run on the stack's packet
// path: it must not block): it opens a host socket towards the mapped
// destination and relays datagrams both ways until UDPIdle passes without
// traffic.
func (e *Endpoint) handleUDP(req *udp.ForwarderRequest) bool {
	id := req.ID()
	dst, ok := e.hostDest(id.LocalAddress, id.LocalPort)
	if !ok {
		return false
	}
	fl := e.flows.acquire("udp", flowDesc(netipAddr(id.RemoteAddress), id.RemotePort, netipAddr(id.LocalAddress), id.LocalPort))
	if fl == nil {
		return true // dropped; the guest retries
	}
	hc, err := net.Dial("udp", dst)
	if err != nil {
		e.flows.release(fl)
		return true
	}
	var wq waiter.Queue
	ep, terr := req.CreateEndpoint(&wq)
	if terr != nil {
		hc.Close()
		e.flows.release(fl)
		return true
	}
	gc := gonet.NewUDPConn(&wq, ep)
	go func() {
		defer e.flows.release(fl)
		e.relayDatagrams(gc, hc)
	}()
	return true
}

// relayDatagrams copies datagrams both ways between two connected sockets
// until neither side has sent anything for UDPIdle, or the endpoint
// closes; then it closes both.
func (e *Endpoint) relayDatagrams(a, b net.Conn) {
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	stop := context.AfterFunc(e.ctx, func() { a.Close(); b.Close() })
	defer stop()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		e.copyDatagrams(b, a, &last)
	}()
	e.copyDatagrams(a, b, &last)
	wg.Wait()
}

// copyDatagrams copies datagrams from src to dst, ending (and closing both)
// on an error or once the shared last-activity time is UDPIdle old.
func (e *Endpoint) copyDatagrams(dst, src net.Conn, last *atomic.Int64) {
	defer func() { dst.Close(); src.Close() }()
	buf := make([]byte, 65536)
	for {
		src.SetReadDeadline(time.Unix(0, last.Load()).Add(e.cfg.UDPIdle))
		n, err := src.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) || isTimeout(err) {
				if time.Since(time.Unix(0, last.Load())) < e.cfg.UDPIdle {
					continue
				}
			}
			return
		}
		last.Store(time.Now().UnixNano())
		if _, err := dst.Write(buf[:n]); err != nil && !isTimeout(err) {
			// A refused datagram (ICMP unreachable on the host socket) ends
			// nothing: the peer may come up later.
			var ne net.Error
			if !errors.As(err, &ne) {
				return
			}
		}
	}
}

// isTimeout reports whether err is a deadline expiry.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
