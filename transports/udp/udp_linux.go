// Package udp is the udp:// module: a point-to-point cable carried in UDP,
// one raw Ethernet frame per datagram, wire-compatible with vdeplug4's
// libvdeplug_udp (spec vdeplug-and-tools.md §2.4).
//
//	udp://[SRCADDR:]SRCPORT->DSTADDR:DSTPORT
//
// Nobody is the server: the two ends are symmetric. The socket is bound to
// the source address and connects to the destination lazily: until its
// first send it accepts frames from anyone, from then on only from the
// destination; a zero-length datagram received disconnects it again
// (transports/internal/lazydgram). Frames up to the medium's limit cross:
// 65507 bytes over IPv4, 65527 over IPv6 (vdeplug4 stops at 9234).
package udp

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/internal/lazydgram"
	"github.com/govde/govde/transports/internal/openerr"
	"github.com/govde/govde/transports/vnl"
)

// The largest UDP payloads (and so frames) over IPv4 and IPv6.
const (
	MaxFrame4 = 65535 - 20 - 8
	MaxFrame6 = 65535 - 8
)

// Spec is a parsed udp:// argument: addresses and ports as written
// (SrcAddr may be empty: the wildcard address).
type Spec struct {
	SrcAddr, SrcPort string
	DstAddr, DstPort string
}

// ParseSpec splits "[SRC:]SPORT->DST:DPORT" as vdeplug4 does: at the first
// "->", then each side at its last ':' (so IPv6 literals are written
// without brackets: "::1:5000->::1:5001"). The destination address and
// both ports are required (vdeplug4 turns a missing destination into a
// lookup failure; govde says so).
func ParseSpec(arg string) (Spec, error) {
	src, dst, ok := strings.Cut(arg, "->")
	if !ok {
		return Spec{}, openerr.New(syscall.EINVAL, `%q has no "->": the syntax is udp://[SRCADDR:]SRCPORT->DSTADDR:DSTPORT`, arg)
	}
	var s Spec
	i := strings.LastIndexByte(dst, ':')
	if i < 0 {
		return Spec{}, openerr.New(syscall.EINVAL, "destination %q has no port: the syntax is udp://[SRCADDR:]SRCPORT->DSTADDR:DSTPORT", dst)
	}
	s.DstAddr, s.DstPort = dst[:i], dst[i+1:]
	if i := strings.LastIndexByte(src, ':'); i >= 0 {
		s.SrcAddr, s.SrcPort = src[:i], src[i+1:]
	} else {
		s.SrcPort = src
	}
	switch {
	case s.DstAddr == "":
		return Spec{}, openerr.New(syscall.EINVAL, "missing destination address in %q", arg)
	case s.DstPort == "":
		return Spec{}, openerr.New(syscall.EINVAL, "missing destination port in %q", arg)
	case s.SrcPort == "":
		return Spec{}, openerr.New(syscall.EINVAL, "missing source port in %q", arg)
	}
	return s, nil
}

// Endpoint is an open udp:// cable end. It implements transports.Endpoint,
// transports.NonBlocking and transports.DropCounter (see lazydgram.Conn for
// the concurrency rules and the connection state).
type Endpoint struct {
	*lazydgram.Conn
	local, remote *net.UDPAddr
}

// Open is the udp module's vnl.Opener. a.MaxFrame, if set, lowers the
// longest frame read (longer datagrams are truncated). It is not registered
// by this package.
func Open(arg string, a vnl.Args) (transports.Endpoint, error) {
	s, err := ParseSpec(arg)
	if err != nil {
		return nil, err
	}
	ep, err := Dial(s, a.MaxFrame, "udp://"+arg)
	if err != nil {
		return nil, err
	}
	return ep, nil
}

// Resolve turns s into socket addresses: the destination is resolved
// first (a name, IPv4 or IPv6 literal, with an optional %zone; ports may
// be service names), then the source in the destination's family, an
// empty source address being the wildcard.
func Resolve(s Spec) (local, remote *net.UDPAddr, err error) {
	if err := checkZone(s.DstAddr); err != nil {
		return nil, nil, err
	}
	remote, err = net.ResolveUDPAddr("udp", net.JoinHostPort(s.DstAddr, s.DstPort))
	if err != nil {
		return nil, nil, openerr.New(syscall.ECONNABORTED, "cannot resolve destination %s:%s: %v", s.DstAddr, s.DstPort, unwrapDNS(err))
	}
	network := "udp6"
	if remote.IP.To4() != nil {
		network = "udp4"
	}
	if err := checkZone(s.SrcAddr); err != nil {
		return nil, nil, err
	}
	local, err = net.ResolveUDPAddr(network, net.JoinHostPort(s.SrcAddr, s.SrcPort))
	if err != nil {
		return nil, nil, openerr.New(syscall.ECONNABORTED, "cannot resolve source %s:%s as %s: %v", s.SrcAddr, s.SrcPort, network[3:], unwrapDNS(err))
	}
	if local.IP == nil {
		if network == "udp4" {
			local.IP = net.IPv4zero
		} else {
			local.IP = net.IPv6unspecified
		}
	}
	return local, remote, nil
}

// checkZone refuses an IPv6 zone that names no interface (Go would quietly
// use none).
func checkZone(addr string) error {
	_, zone, ok := strings.Cut(addr, "%")
	if !ok {
		return nil
	}
	if _, err := strconv.Atoi(zone); err == nil {
		return nil
	}
	if _, err := net.InterfaceByName(zone); err != nil {
		return openerr.New(syscall.ENODEV, "no interface %q (in address %s)", zone, addr)
	}
	return nil
}

func unwrapDNS(err error) error {
	if ae, ok := err.(*net.AddrError); ok {
		return fmt.Errorf("%s", ae.Err)
	}
	if de, ok := err.(*net.DNSError); ok {
		return fmt.Errorf("%s", de.Err)
	}
	return err
}

// Dial resolves s, binds a UDP socket to its source and returns the
// endpoint, which sends to its destination. maxFrame (0: the family's
// maximum) bounds the frames read; descr is what Describe returns.
func Dial(s Spec, maxFrame int, descr string) (*Endpoint, error) {
	local, remote, err := Resolve(s)
	if err != nil {
		return nil, err
	}
	family, limit := unix.AF_INET, MaxFrame4
	if remote.IP.To4() == nil {
		family, limit = unix.AF_INET6, MaxFrame6
	}
	if maxFrame <= 0 || maxFrame > limit {
		maxFrame = limit
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, openerr.New(openerr.Errno(err, syscall.EINVAL), "udp socket: %v", err)
	}
	if err := unix.Bind(fd, sockaddr(local)); err != nil {
		unix.Close(fd)
		return nil, openerr.New(openerr.Errno(err, syscall.EINVAL), "cannot bind UDP %s", local)
	}
	c, err := lazydgram.New(fd, lazydgram.Config{Peer: sockaddr(remote), ResetOnEmpty: true, MaxFrame: maxFrame, Descr: descr})
	if err != nil {
		return nil, err
	}
	return &Endpoint{Conn: c, local: local, remote: remote}, nil
}

// LocalAddr returns the address the socket is bound to.
func (e *Endpoint) LocalAddr() *net.UDPAddr { return e.local }

// RemoteAddr returns the peer's address (where frames go).
func (e *Endpoint) RemoteAddr() *net.UDPAddr { return e.remote }

func sockaddr(a *net.UDPAddr) unix.Sockaddr {
	if ip4 := a.IP.To4(); ip4 != nil {
		sa := &unix.SockaddrInet4{Port: a.Port}
		copy(sa.Addr[:], ip4)
		return sa
	}
	sa := &unix.SockaddrInet6{Port: a.Port}
	copy(sa.Addr[:], a.IP.To16())
	if a.Zone != "" {
		if ifi, err := net.InterfaceByName(a.Zone); err == nil {
			sa.ZoneId = uint32(ifi.Index)
		} else if n, err := strconv.Atoi(a.Zone); err == nil {
			sa.ZoneId = uint32(n)
		}
	}
	return sa
}
