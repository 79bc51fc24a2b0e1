package slirp

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
)

// Forward protocols.
const (
	TCP = "tcp"
	UDP = "udp"
)

// ForwardInfo describes an active port forward.
type ForwardInfo struct {
	Proto string // TCP or UDP
	Forward
	// Bound is the address the host socket listens on (the real port
	// when the forward asked for port 0).
	Bound string
}

// forwards is the table of active port forwards, keyed by protocol and
// bound address.
type forwards struct {
	mu     sync.Mutex
	closed bool
	m      map[string]*fwdEntry
}

type fwdEntry struct {
	info ForwardInfo
	c    io.Closer
}

func fwdKey(proto, listen string) string { return proto + " " + listen }

// closeAll closes every listener and refuses new forwards.
func (t *forwards) closeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	for k, f := range t.m {
		f.c.Close()
		delete(t.m, k)
	}
}

// startForwards opens the host listeners of the configured port forwards.
func (e *Endpoint) startForwards() error {
	for _, f := range e.cfg.TCPForwards {
		if _, err := e.AddForward(TCP, f); err != nil {
			return err
		}
	}
	for _, f := range e.cfg.UDPForwards {
		if _, err := e.AddForward(UDP, f); err != nil {
			return err
		}
	}
	return nil
}

// ErrNoForward is RemoveForward's error for an address not forwarded.
var ErrNoForward = fmt.Errorf("no such forward: %w", syscall.ENOENT)

// AddForward starts a host->guest port forward for proto (TCP or UDP): it
// listens on f.Listen at once and relays what arrives to f.Guest. It
// returns the address bound. A listen address in use fails (EADDRINUSE).
// Safe to call at any time before Close.
func (e *Endpoint) AddForward(proto string, f Forward) (string, error) {
	if proto != TCP && proto != UDP {
		return "", fmt.Errorf("slirp: bad forward protocol %q: %w", proto, syscall.EINVAL)
	}
	t := &e.fwds
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return "", fmt.Errorf("slirp: closed: %w", syscall.EBADF)
	}
	var c io.Closer
	var bound string
	if proto == TCP {
		l, err := net.Listen(f.listenNet(TCP), f.Listen)
		if err != nil {
			return "", fmt.Errorf("slirp: tcp forward %v: %w", f, err)
		}
		c, bound = l, l.Addr().String()
		e.flows.wg.Add(1)
		go e.acceptTCP(l, f)
	} else {
		pc, err := net.ListenPacket(f.listenNet(UDP), f.Listen)
		if err != nil {
			return "", fmt.Errorf("slirp: udp forward %v: %w", f, err)
		}
		c, bound = pc, pc.LocalAddr().String()
		e.flows.wg.Add(1)
		go e.serveUDPForward(pc, f)
	}
	if t.m == nil {
		t.m = map[string]*fwdEntry{}
	}
	t.m[fwdKey(proto, bound)] = &fwdEntry{info: ForwardInfo{Proto: proto, Forward: f, Bound: bound}, c: c}
	return bound, nil
}

// ParseListen parses the host side of a forward as the console's
// fwd/del takes it: [HOSTADDR:]PORT, an IPv6 HOSTADDR in brackets.
func ParseListen(s string) (string, error) {
	parts, ok := splitColons(s)
	if !ok || len(parts) > 2 {
		return "", fmt.Errorf("bad listen address %q: want [HOSTADDR:]PORT", s)
	}
	host := ""
	if len(parts) == 2 {
		a, err := parseBracketed(parts[0])
		if err != nil {
			return "", fmt.Errorf("bad listen address %q: %v", s, err)
		}
		host = a.String()
	}
	p, err := strconv.ParseUint(parts[len(parts)-1], 10, 16)
	if err != nil {
		return "", fmt.Errorf("bad listen address %q: port", s)
	}
	return net.JoinHostPort(host, strconv.Itoa(int(p))), nil
}

// RemoveForward stops the proto forward listening on listen: the address
// it was added with ("HOST:PORT" or ":PORT") or the one it is bound to.
// Connections it relays now go on; its UDP associations end.
func (e *Endpoint) RemoveForward(proto, listen string) error {
	t := &e.fwds
	t.mu.Lock()
	defer t.mu.Unlock()
	key := fwdKey(proto, listen)
	if t.m[key] == nil {
		for k, f := range t.m {
			if f.info.Proto == proto && f.info.Listen == listen {
				key = k
				break
			}
		}
	}
	f := t.m[key]
	if f == nil {
		return fmt.Errorf("slirp: %s forward %v: %w", proto, listen, ErrNoForward)
	}
	delete(t.m, key)
	return f.c.Close()
}

// Forwards lists the active port forwards, TCP first, by listen address.
func (e *Endpoint) Forwards() []ForwardInfo {
	t := &e.fwds
	t.mu.Lock()
	out := make([]ForwardInfo, 0, len(t.m))
	for _, f := range t.m {
		out = append(out, f.info)
	}
	t.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Proto != out[j].Proto {
			return out[i].Proto < out[j].Proto
		}
		return out[i].Bound < out[j].Bound
	})
	return out
}

// guestAddr returns f's guest address as a netstack address and the
// network protocol to reach it.
func guestAddr(f Forward) (tcpip.FullAddress, tcpip.NetworkProtocolNumber) {
	fa := tcpip.FullAddress{NIC: nicID, Addr: tcpAddr(f.Guest.Addr()), Port: f.Guest.Port()}
	if f.Guest.Addr().Is4() {
		return fa, ipv4.ProtocolNumber
	}
	return fa, ipv6.ProtocolNumber
}

// acceptTCP accepts host connections on l and relays each to the guest.
func (e *Endpoint) acceptTCP(l net.Listener, f Forward) {
	defer e.flows.wg.Done()
	for {
		c, err := l.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if !errors.Is(err, net.ErrClosed) {
				e.cfg.Logf("tcp forward %v: accept: %v", f, err)
				time.Sleep(100 * time.Millisecond) // EMFILE and the like: do not spin
				if !e.fwdOpen(l) {
					return
				}
				continue
			}
			return
		}
		fl := e.flows.acquire("tcp-fwd", c.RemoteAddr().String()+" -> "+f.Guest.String())
		if fl == nil {
			c.Close()
			continue
		}
		go func() {
			defer e.flows.release(fl)
			ga, proto := guestAddr(f)
			gc, err := gonet.DialContextTCP(e.ctx, e.st, ga, proto)
			if err != nil {
				c.Close()
				return
			}
			e.relayStream(gc, c)
		}()
	}
}

// fwdOpen reports whether c is still an active forward's socket.
func (e *Endpoint) fwdOpen(c io.Closer) bool {
	e.fwds.mu.Lock()
	defer e.fwds.mu.Unlock()
	for _, f := range e.fwds.m {
		if f.c == c {
			return true
		}
	}
	return false
}

// serveUDPForward relays datagrams arriving on pc to the guest, one
// association per host peer, and the guest's answers back to that peer.
func (e *Endpoint) serveUDPForward(pc net.PacketConn, f Forward) {
	defer e.flows.wg.Done()
	var mu sync.Mutex
	peers := map[string]*gonet.UDPConn{}
	buf := make([]byte, 65536)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			mu.Lock()
			for _, gc := range peers {
				gc.Close()
			}
			mu.Unlock()
			return
		}
		key := from.String()
		mu.Lock()
		gc := peers[key]
		if gc == nil {
			if fl := e.flows.acquire("udp-fwd", key+" -> "+f.Guest.String()); fl != nil {
				ga, proto := guestAddr(f)
				gc, err = gonet.DialUDP(e.st, nil, &ga, proto)
				if err != nil {
					e.flows.release(fl)
					gc = nil
				} else {
					peers[key] = gc
					go func(gc *gonet.UDPConn, from net.Addr) {
						defer e.flows.release(fl)
						b := make([]byte, 65536)
						for {
							gc.SetReadDeadline(time.Now().Add(e.cfg.UDPIdle))
							n, err := gc.Read(b)
							if err != nil {
								break
							}
							pc.WriteTo(b[:n], from)
						}
						mu.Lock()
						delete(peers, from.String())
						mu.Unlock()
						gc.Close()
					}(gc, from)
				}
			}
		}
		mu.Unlock()
		if gc != nil {
			gc.Write(buf[:n])
		}
	}
}

// forwardString formats a forward for the console and the banner:
// PROTO [HOSTADDR:]PORT -> GUESTIP:GUESTPORT.
func (fi ForwardInfo) String() string {
	return fi.Proto + " " + fi.Bound + " -> " + netip.AddrPortFrom(fi.Guest.Addr(), fi.Guest.Port()).String()
}
