package slirp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/frames"
)

// ICMP echo NAT: a guest's echo request to an outside address is sent by
// the process as a real ping from the host, and the host's echo replies go
// back to the guest from the address it pinged. Each (guest, destination,
// echo identifier) is one flow with its own host socket, counted by the
// flow limiter and closed after ICMPIdle without requests or replies.
//
// The host socket is an unprivileged ICMP datagram socket
// (socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP), allowed to the groups in
// net.ipv4.ping_group_range, which also covers ICMPv6); where that is
// refused the process falls back to a raw socket (needs CAP_NET_RAW, so
// root); with neither, echo requests to outside addresses go unanswered
// and one line says why. Nothing changes ping_group_range.

// echoKey identifies an echo association.
type echoKey struct {
	guest, dst netip.Addr
	id         uint16
}

// echoFlow is one echo association.
type echoFlow struct {
	key      echoKey
	guestMAC [6]byte
	conn     net.Conn
	raw      bool
	rawID    uint16 // the identifier on the host's wire (raw sockets)
	last     atomic.Int64
	fl       *flow
}

// echoNAT is the table of echo associations.
type echoNAT struct {
	mu       sync.Mutex
	m        map[echoKey]*echoFlow
	closed   bool
	warned   atomic.Bool
	mode     atomic.Int32 // 0 unknown, 1 datagram sockets work, 2 raw only
	requests atomic.Uint64
	replies  atomic.Uint64
}

func (t *echoNAT) init() { t.m = map[echoKey]*echoFlow{} }

// closeAll closes every association's socket; their readers then end.
func (t *echoNAT) closeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	for _, f := range t.m {
		f.conn.Close()
	}
}

// echoRequest4 handles an IPv4 frame if it is an ICMP echo request to an
// address the router does not own, and reports whether it did (the frame
// is then consumed: relayed to the host, or dropped).
func (e *Endpoint) echoRequest4(p []byte) bool {
	ip := p[ethHdrLen:]
	if len(ip) < ipHdrLen || ip[0]>>4 != 4 || ip[9] != protoICMP {
		return false
	}
	ihl := int(ip[0]&0xf) * 4
	if ihl < ipHdrLen || len(ip) < ihl+8 {
		return false
	}
	if tl := int(binary.BigEndian.Uint16(ip[2:4])); tl >= ihl+8 && tl <= len(ip) {
		ip = ip[:tl]
	}
	icmp := ip[ihl:]
	if icmp[0] != 8 || icmp[1] != 0 {
		return false
	}
	dst := netip.AddrFrom4([4]byte(ip[16:20]))
	if e.owns(ip[16:20]) {
		return false // the stack answers for the router's addresses
	}
	if binary.BigEndian.Uint16(ip[6:8])&0x3fff != 0 {
		return true // fragmented echo: not relayed
	}
	src := netip.AddrFrom4([4]byte(ip[12:16]))
	e.echoRequest(p[6:12], src, dst, icmp)
	return true
}

// echoRequest6 relays an ICMPv6 echo request (ip: the IPv6 packet) to an
// address the router does not own.
func (e *Endpoint) echoRequest6(p, ip []byte) {
	icmp := ip[ip6HdrLen:]
	if len(icmp) < 8 || icmp[1] != 0 {
		return
	}
	src := netip.AddrFrom16([16]byte(ip[8:24]))
	dst := netip.AddrFrom16([16]byte(ip[24:40]))
	e.echoRequest(p[6:12], src, dst, icmp)
}

// echoRequest sends the guest's echo request icmp (header and data) to
// the host address dst maps to, opening the association if it is new.
// It runs on the packet path and never blocks for long.
func (e *Endpoint) echoRequest(mac []byte, src, dst netip.Addr, icmp []byte) {
	host, ok := e.hostAddr(dst, false)
	if !ok {
		return
	}
	t := &e.echo
	t.requests.Add(1)
	key := echoKey{guest: src, dst: dst, id: binary.BigEndian.Uint16(icmp[4:6])}
	t.mu.Lock()
	f := t.m[key]
	if f == nil && !t.closed {
		f = e.openEcho(key, host)
		if f != nil {
			copy(f.guestMAC[:], mac)
			t.m[key] = f
			e.flows.wg.Add(1)
			go e.readEcho(f)
		}
	}
	t.mu.Unlock()
	if f == nil {
		return
	}
	f.last.Store(time.Now().UnixNano())
	req := make([]byte, len(icmp))
	copy(req, icmp)
	req[0] = 8
	if host.Is6() {
		req[0] = 128
	}
	req[2], req[3] = 0, 0
	if f.raw {
		binary.BigEndian.PutUint16(req[4:6], f.rawID)
	}
	if host.Is4() {
		binary.BigEndian.PutUint16(req[2:4], checksumFold(checksumAdd(0, req)))
	}
	f.conn.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	f.conn.Write(req)
}

// openEcho opens the host socket of a new association; nil when the
// flow limit bites or no ICMP socket can be had. t.mu is held.
func (e *Endpoint) openEcho(key echoKey, host netip.Addr) *echoFlow {
	fl := e.flows.acquire("icmp", key.guest.String()+" -> "+key.dst.String()+" id "+fmt.Sprint(key.id))
	if fl == nil {
		return nil
	}
	conn, raw, err := dialICMP(host, e.echo.mode.Load() == 2)
	if err != nil {
		e.flows.release(fl)
		if !e.echo.warned.Swap(true) {
			e.cfg.Logf("ICMP echo NAT unavailable (%v): echo requests to outside addresses go unanswered; "+
				"unprivileged ping needs net.ipv4.ping_group_range to include group %d, or run with CAP_NET_RAW", err, os.Getgid())
		}
		return nil
	}
	if raw {
		e.echo.mode.Store(2)
	} else {
		e.echo.mode.Store(1)
	}
	f := &echoFlow{key: key, conn: conn, raw: raw, fl: fl}
	f.last.Store(time.Now().UnixNano())
	if raw {
		f.rawID = uint16(rand.Uint32())
	}
	return f
}

// dialICMP opens an ICMP socket connected to host: a datagram ("ping")
// socket unless rawOnly, else (or if that is refused) a raw socket.
func dialICMP(host netip.Addr, rawOnly bool) (net.Conn, bool, error) {
	fam, proto := unix.AF_INET6, unix.IPPROTO_ICMPV6
	var sa unix.Sockaddr = &unix.SockaddrInet6{Addr: host.As16()}
	if host.Is4() {
		fam, proto = unix.AF_INET, unix.IPPROTO_ICMP
		sa = &unix.SockaddrInet4{Addr: host.As4()}
	}
	var err error
	for _, typ := range []int{unix.SOCK_DGRAM, unix.SOCK_RAW} {
		if typ == unix.SOCK_DGRAM && rawOnly {
			continue
		}
		var fd int
		fd, err = unix.Socket(fam, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
				continue
			}
			return nil, false, err
		}
		if err = unix.Connect(fd, sa); err != nil {
			unix.Close(fd)
			return nil, false, err
		}
		f := os.NewFile(uintptr(fd), "icmp")
		c, cerr := net.FileConn(f)
		f.Close()
		if cerr != nil {
			return nil, false, cerr
		}
		return c, typ == unix.SOCK_RAW, nil
	}
	return nil, false, err
}

// readEcho relays the host's echo replies of f to the guest until f has
// been idle for ICMPIdle or the endpoint closes.
func (e *Endpoint) readEcho(f *echoFlow) {
	defer e.flows.wg.Done()
	defer e.flows.release(f.fl)
	defer func() {
		e.echo.mu.Lock()
		delete(e.echo.m, f.key)
		e.echo.mu.Unlock()
		f.conn.Close()
	}()
	pc := f.conn.(net.PacketConn)
	buf := make([]byte, 65536)
	v6 := f.key.dst.Is6()
	for {
		f.conn.SetReadDeadline(time.Unix(0, f.last.Load()).Add(e.cfg.ICMPIdle))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			if isTimeout(err) && time.Since(time.Unix(0, f.last.Load())) < e.cfg.ICMPIdle {
				continue
			}
			return
		}
		m := buf[:n]
		if f.raw && !v6 && n >= ipHdrLen && m[0]>>4 == 4 {
			// Some kernels hand raw IPv4 sockets the IP header.
			if ihl := int(m[0]&0xf) * 4; ihl <= n {
				m = m[ihl:]
			}
		}
		if !isEchoReply(m) || (f.raw && binary.BigEndian.Uint16(m[4:6]) != f.rawID) {
			continue
		}
		f.last.Store(time.Now().UnixNano())
		e.echo.replies.Add(1)
		e.emit(e.echoReplyFrame(f, m))
	}
}

// isEchoReply reports whether the ICMP message m is an ICMP or ICMPv6
// echo reply (an IPv6 guest's destination may be an IPv4 host).
func isEchoReply(m []byte) bool {
	return len(m) >= 8 && (m[0] == 0 || m[0] == 129) && m[1] == 0
}

// echoReplyFrame builds the echo reply to the guest: from the address it
// pinged, with its identifier, the host reply's sequence number and data.
func (e *Endpoint) echoReplyFrame(f *echoFlow, m []byte) *frames.Buf {
	r := make([]byte, len(m))
	copy(r, m)
	binary.BigEndian.PutUint16(r[4:6], f.key.id)
	if f.key.dst.Is6() {
		r[0] = 129
		return frame6(f.guestMAC[:], []byte(e.mac), f.key.dst, f.key.guest, protoICMP6, 64, r, 2)
	}
	r[0] = 0
	return frame4(f.guestMAC[:], []byte(e.mac), f.key.dst, f.key.guest, protoICMP, r, 2)
}
