package vxnet

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Socket is one non-blocking UDP socket registered with Go's netpoller.
// Its fd stays open until Close; Receiver and Sender use it.
type Socket struct {
	f     *os.File
	rc    syscall.RawConn
	fd    int
	v6    bool
	local netip.AddrPort
}

// SocketConfig says how OpenUDP sets a socket up. Zero fields leave the
// kernel's defaults.
type SocketConfig struct {
	// V6 makes an AF_INET6 socket (IPv6 only: IPV6_V6ONLY is set).
	V6 bool
	// Bind is the local address (the zero Addr means the wildcard) and port
	// (0 = ephemeral).
	Bind netip.AddrPort
	// ReuseAddr sets SO_REUSEADDR.
	ReuseAddr bool
	// Join is a multicast group to join on interface IfIndex (0 = the
	// kernel's choice); the zero Addr joins nothing.
	Join netip.Addr
	// IfIndex is also the interface for outgoing multicast when not 0.
	IfIndex int
	// MulticastTTL sets IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS when >= 0.
	MulticastTTL int
	// UnicastTTL sets IP_TTL (IPv4 only, as vdeplug) when >= 0.
	UnicastTTL int
	// NoLoop turns multicast loopback off.
	NoLoop bool
	// PktInfo asks for the destination address of every datagram.
	PktInfo bool
	// OnlyJoined limits multicast reception to the groups this socket
	// joined (IP_MULTICAST_ALL off), instead of any group a socket of the
	// host joined on the bound port.
	OnlyJoined bool
	// RcvBuf sets SO_RCVBUF when > 0.
	RcvBuf int
}

// SocketError is a failed socket operation, with the address it concerned.
type SocketError struct {
	Op   string
	Addr string
	Err  error
}

// Error returns "OP ADDR: <strerror>".
func (e *SocketError) Error() string {
	if e.Addr == "" {
		return e.Op + ": " + strerror(e.Err)
	}
	return e.Op + " " + e.Addr + ": " + strerror(e.Err)
}

// Is reports whether target is the error's errno: errors.Is(err,
// syscall.EADDRINUSE) works although SocketError deliberately does not
// unwrap to its errno (front-ends printing an errno's text alone then
// print this whole line instead).
func (e *SocketError) Is(target error) bool {
	t, ok := target.(syscall.Errno)
	errno, has := e.Errno()
	return ok && has && t == errno
}

// Errno returns the system error number, if the error carries one.
func (e *SocketError) Errno() (syscall.Errno, bool) {
	var errno syscall.Errno
	ok := errors.As(e.Err, &errno)
	return errno, ok
}

// strerror capitalises an errno's text as C's strerror does.
func strerror(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		if s != "" && s[0] >= 'a' && s[0] <= 'z' {
			s = string(s[0]-'a'+'A') + s[1:]
		}
		return s
	}
	return err.Error()
}

// OpenUDP creates, sets up and binds a UDP socket as c says.
func OpenUDP(c SocketConfig) (*Socket, error) {
	fam := unix.AF_INET
	if c.V6 {
		fam = unix.AF_INET6
	}
	fd, err := unix.Socket(fam, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return nil, &SocketError{Op: "socket", Err: err}
	}
	if err := setup(fd, c); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return newSocket(fd, c.V6)
}

func setup(fd int, c SocketConfig) error {
	opt := func(name string, level, o, v int) error {
		if err := unix.SetsockoptInt(fd, level, o, v); err != nil {
			return &SocketError{Op: "setsockopt " + name, Err: err}
		}
		return nil
	}
	ip, ttlOpt, loopOpt, allOpt, pktOpt := unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, unix.IP_MULTICAST_LOOP, unix.IP_MULTICAST_ALL, unix.IP_PKTINFO
	if c.V6 {
		ip, ttlOpt, loopOpt, allOpt, pktOpt = unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, unix.IPV6_MULTICAST_LOOP, unix.IPV6_MULTICAST_ALL, unix.IPV6_RECVPKTINFO
		if err := opt("IPV6_V6ONLY", ip, unix.IPV6_V6ONLY, 1); err != nil {
			return err
		}
	}
	if c.ReuseAddr {
		if err := opt("SO_REUSEADDR", unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return err
		}
	}
	if c.RcvBuf > 0 {
		if err := opt("SO_RCVBUF", unix.SOL_SOCKET, unix.SO_RCVBUF, c.RcvBuf); err != nil {
			return err
		}
	}
	if c.MulticastTTL >= 0 {
		if err := opt("multicast TTL", ip, ttlOpt, c.MulticastTTL); err != nil {
			return err
		}
	}
	if c.UnicastTTL >= 0 && !c.V6 {
		if err := opt("IP_TTL", ip, unix.IP_TTL, c.UnicastTTL); err != nil {
			return err
		}
	}
	if c.NoLoop {
		if err := opt("multicast loop", ip, loopOpt, 0); err != nil {
			return err
		}
	}
	if c.PktInfo {
		if err := opt("packet info", ip, pktOpt, 1); err != nil {
			return err
		}
	}
	if c.OnlyJoined {
		// Older kernels lack IPV6_MULTICAST_ALL: then the socket hears
		// every group joined on its port, which the header check sorts out.
		_ = unix.SetsockoptInt(fd, ip, allOpt, 0)
	}
	if c.IfIndex > 0 {
		var err error
		if c.V6 {
			err = unix.SetsockoptInt(fd, ip, unix.IPV6_MULTICAST_IF, c.IfIndex)
		} else {
			err = unix.SetsockoptIPMreqn(fd, ip, unix.IP_MULTICAST_IF, &unix.IPMreqn{Ifindex: int32(c.IfIndex)})
		}
		if err != nil {
			return &SocketError{Op: "setsockopt multicast interface", Err: err}
		}
	}
	bind := c.Bind
	if !bind.Addr().IsValid() {
		bind = netip.AddrPortFrom(netip.IPv4Unspecified(), bind.Port())
		if c.V6 {
			bind = netip.AddrPortFrom(netip.IPv6Unspecified(), bind.Port())
		}
	}
	if err := unix.Bind(fd, sockaddr(bind, uint32(c.IfIndex), c.V6)); err != nil {
		return &SocketError{Op: "bind", Addr: bind.String(), Err: err}
	}
	if c.Join.IsValid() {
		var err error
		if c.V6 {
			err = unix.SetsockoptIPv6Mreq(fd, ip, unix.IPV6_JOIN_GROUP, &unix.IPv6Mreq{Multiaddr: c.Join.As16(), Interface: uint32(c.IfIndex)})
		} else {
			err = unix.SetsockoptIPMreqn(fd, ip, unix.IP_ADD_MEMBERSHIP, &unix.IPMreqn{Multiaddr: c.Join.As4(), Ifindex: int32(c.IfIndex)})
		}
		if err != nil {
			return &SocketError{Op: "join multicast group", Addr: c.Join.String(), Err: err}
		}
	}
	return nil
}

// sockaddr returns the unix.Sockaddr of ap (scope used for link-local IPv6).
func sockaddr(ap netip.AddrPort, scope uint32, v6 bool) unix.Sockaddr {
	if !v6 {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().Unmap().As4()}
	}
	sa := &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	if ap.Addr().IsLinkLocalUnicast() || ap.Addr().IsLinkLocalMulticast() || ap.Addr().IsInterfaceLocalMulticast() {
		sa.ZoneId = scope
	}
	return sa
}

// newSocket registers fd with the netpoller; the Socket owns fd from now on.
func newSocket(fd int, v6 bool) (*Socket, error) {
	s := &Socket{fd: fd, v6: v6}
	if sa, err := unix.Getsockname(fd); err == nil {
		switch a := sa.(type) {
		case *unix.SockaddrInet4:
			s.local = netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
		case *unix.SockaddrInet6:
			s.local = netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port))
		}
	}
	s.f = os.NewFile(uintptr(fd), "udp")
	rc, err := s.f.SyscallConn()
	if err != nil {
		s.f.Close()
		return nil, fmt.Errorf("udp socket: %w", err)
	}
	s.rc = rc
	return s, nil
}

// Local returns the address and port the socket is bound to.
func (s *Socket) Local() netip.AddrPort { return s.local }

// V6 reports whether the socket is AF_INET6.
func (s *Socket) V6() bool { return s.v6 }

// Control runs f with the socket's fd, which stays open until f returns.
func (s *Socket) Control(f func(fd int) error) error {
	var ferr error
	if err := s.rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// Close closes the socket; pending reads and writes on its RawConn return.
func (s *Socket) Close() error { return s.f.Close() }

// SendTo sends one datagram made of h followed by p (p may be empty) to
// the peer, without blocking. It is for rare control messages (vxvde's
// goodbye); frames go through a Sender.
func (s *Socket) SendTo(h Header, p []byte, to Peer) error {
	var name unix.RawSockaddrInet6
	nl := putSockaddr(&name, to, s.v6)
	iov := [2]unix.Iovec{{Base: &h[0]}, {}}
	iov[0].SetLen(HeaderLen)
	cnt := 1
	if len(p) > 0 {
		iov[1].Base = &p[0]
		iov[1].SetLen(len(p))
		cnt = 2
	}
	var m unix.Msghdr
	m.Name = (*byte)(unsafe.Pointer(&name))
	m.Namelen = nl
	m.Iov = &iov[0]
	m.SetIovlen(cnt)
	var errno syscall.Errno
	err := s.rc.Write(func(fd uintptr) bool {
		_, _, errno = unix.Syscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&m)), unix.MSG_DONTWAIT)
		return errno != unix.EINTR
	})
	if err != nil {
		return err
	}
	if errno != 0 {
		return &SocketError{Op: "send", Addr: to.String(), Err: errno}
	}
	return nil
}
