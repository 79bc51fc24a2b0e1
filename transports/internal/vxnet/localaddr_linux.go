package vxnet

import (
	"net/netip"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// refreshEvery is the shortest time between two address dumps.
const refreshEvery = time.Second

// LocalAddrs tells whether an address belongs to this host, i.e. to the
// network namespace LocalAddrs was created in (its netlink socket stays
// there even when the asking goroutine runs on a thread of another
// namespace). vxvde uses it to recognise its own multicast coming back.
//
// The addresses are dumped once, then again on a miss, at most once per
// refreshEvery; a hit costs a scan of a short slice. Safe for concurrent
// use.
type LocalAddrs struct {
	mu    sync.Mutex
	fd    int
	addrs []netip.Addr
	last  time.Time
	seq   uint32
}

// NewLocalAddrs opens a netlink route socket in the calling thread's
// network namespace and dumps the addresses once.
func NewLocalAddrs() (*LocalAddrs, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, &SocketError{Op: "netlink socket", Err: err}
	}
	tv := unix.Timeval{Sec: 1}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, &SocketError{Op: "netlink timeout", Err: err}
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, &SocketError{Op: "netlink bind", Err: err}
	}
	l := &LocalAddrs{fd: fd}
	l.mu.Lock()
	l.refresh(time.Now())
	l.mu.Unlock()
	return l, nil
}

// Has reports whether a is an address of this host.
func (l *LocalAddrs) Has(a netip.Addr) bool {
	a = a.Unmap()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, x := range l.addrs {
		if x == a {
			return true
		}
	}
	if now := time.Now(); l.fd >= 0 && now.Sub(l.last) >= refreshEvery {
		l.refresh(now)
		for _, x := range l.addrs {
			if x == a {
				return true
			}
		}
	}
	return false
}

// Close closes the netlink socket; Has then answers from the last dump.
func (l *LocalAddrs) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fd < 0 {
		return nil
	}
	err := unix.Close(l.fd)
	l.fd = -1
	return err
}

// refresh dumps the addresses (RTM_GETADDR); on failure the old list stays.
func (l *LocalAddrs) refresh(now time.Time) {
	l.last = now
	l.seq++
	req := struct {
		hdr unix.NlMsghdr
		msg unix.IfAddrmsg
	}{}
	req.hdr.Len = uint32(unsafe.Sizeof(req))
	req.hdr.Type = unix.RTM_GETADDR
	req.hdr.Flags = unix.NLM_F_REQUEST | unix.NLM_F_DUMP
	req.hdr.Seq = l.seq
	req.msg.Family = unix.AF_UNSPEC
	b := (*[unsafe.Sizeof(req)]byte)(unsafe.Pointer(&req))[:]
	if err := unix.Sendto(l.fd, b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return
	}
	var addrs []netip.Addr
	buf := make([]byte, 32<<10)
	for {
		n, _, err := unix.Recvfrom(l.fd, buf, 0)
		if err != nil {
			return
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return
		}
		for _, m := range msgs {
			if m.Header.Seq != l.seq {
				continue
			}
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				l.addrs = addrs
				return
			case unix.NLMSG_ERROR:
				return
			case unix.RTM_NEWADDR:
				attrs, err := syscall.ParseNetlinkRouteAttr(&m)
				if err != nil {
					continue
				}
				for _, a := range attrs {
					if a.Attr.Type != unix.IFA_ADDRESS && a.Attr.Type != unix.IFA_LOCAL {
						continue
					}
					if ip, ok := netip.AddrFromSlice(a.Value); ok {
						addrs = append(addrs, ip.Unmap())
					}
				}
			}
		}
	}
}
