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
// per episode) and lets Close wait for every flow goroutine.
type flowLimiter struct {
	mu      sync.Mutex
	closed  bool
	biting  bool
	n       atomic.Int64
	max     int64
	refused atomic.Uint64
	wg      sync.WaitGroup
	logf    func(string, ...any)
}

// acquire reserves a flow; false when closed or at the limit.
func (l *flowLimiter) acquire() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	if l.n.Load() >= l.max {
		l.refused.Add(1)
		if !l.biting {
			l.biting = true
			l.logf("flow limit reached (%d concurrent flows): refusing new connections", l.max)
		}
		return false
	}
	l.n.Add(1)
	l.wg.Add(1)
	return true
}

// release ends a flow acquire reserved.
func (l *flowLimiter) release() {
	l.mu.Lock()
	if l.n.Add(-1) < l.max {
		l.biting = false
	}
	l.mu.Unlock()
	l.wg.Done()
}

// shutdown refuses new flows and waits for the open ones to end (the
// caller has cancelled their context).
func (l *flowLimiter) shutdown() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.wg.Wait()
}

// hostDest maps a guest destination to the host address the process
// connects to: the gateway means the host's loopback, the DNS address means
// the upstream resolver (port 53 only), other addresses of the virtual
// network, broadcast and multicast are not NATed.
func (e *Endpoint) hostDest(a tcpip.Address, port uint16) (string, bool) {
	if a.Len() != 4 {
		return "", false
	}
	ip := netip.AddrFrom4(a.As4())
	switch {
	case ip == e.r.host:
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))), true
	case ip == e.r.dns:
		if port != 53 || e.r.upstream == "" {
			return "", false
		}
		return e.r.upstream, true
	case e.r.prefix.Contains(ip), ip.IsMulticast(), ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}), ip.IsUnspecified():
		return "", false
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(int(port))), true
}

// handleTCP is the TCP forwarder's handler (netstack runs it in its own
// goroutine): it connects on the host first, then accepts the guest's
// connection and relays; a host failure resets the guest's connection.
func (e *Endpoint) handleTCP(req *tcp.ForwarderRequest) {
	id := req.ID()
	dst, ok := e.hostDest(id.LocalAddress, id.LocalPort)
	if !ok || !e.flows.acquire() {
		req.Complete(true)
		return
	}
	defer e.flows.release()
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
	if !e.flows.acquire() {
		return true // dropped; the guest retries
	}
	hc, err := net.Dial("udp", dst)
	if err != nil {
		e.flows.release()
		return true
	}
	var wq waiter.Queue
	ep, terr := req.CreateEndpoint(&wq)
	if terr != nil {
		hc.Close()
		e.flows.release()
		return true
	}
	gc := gonet.NewUDPConn(&wq, ep)
	go func() {
		defer e.flows.release()
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
