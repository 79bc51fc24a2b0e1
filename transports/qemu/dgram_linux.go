package qemu

import (
	"os"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/internal/lazydgram"
	"github.com/govde/govde/transports/internal/openerr"
	"github.com/govde/govde/transports/udp"
	"github.com/govde/govde/transports/vnl"
)

const dgramSyntax = "qemu-dgram://[LOCAL]->REMOTE, each a socket path or HOST:PORT"

// OpenDgram is the qemu-dgram module's vnl.Opener:
// qemu-dgram://[LOCAL]->REMOTE. Over UDP it is udp:// (same lazy
// connection); over unix datagram sockets it binds LOCAL (replacing a
// stale socket file, with a.Mode and a.Group) and sends to REMOTE.
// a.MaxFrame bounds the frames read. It is not registered by this package.
func OpenDgram(arg string, a vnl.Args) (transports.Endpoint, error) {
	local, remote, ok := strings.Cut(arg, "->")
	if !ok || remote == "" {
		return nil, openerr.New(syscall.EINVAL, "%q has no REMOTE: the syntax is %s", arg, dgramSyntax)
	}
	descr := "qemu-dgram://" + arg
	rnet, raddr, err := splitAddr(remote, dgramSyntax)
	if err != nil {
		return nil, err
	}
	if rnet == "tcp" { // host:port: UDP
		if strings.Contains(local, "/") || abstract(local) {
			return nil, openerr.New(syscall.EINVAL, "LOCAL %s is a socket path but REMOTE %s is HOST:PORT: both must be of one kind", local, remote)
		}
		i := strings.LastIndexByte(remote, ':')
		s := udp.Spec{DstAddr: remote[:i], DstPort: remote[i+1:], SrcPort: "0"}
		if local != "" {
			if j := strings.LastIndexByte(local, ':'); j >= 0 {
				s.SrcAddr, s.SrcPort = local[:j], local[j+1:]
			} else {
				s.SrcPort = local
			}
		}
		e, err := udp.Dial(s, a.MaxFrame, descr)
		if err != nil {
			return nil, err
		}
		return e, nil
	}
	if local == "" {
		return nil, openerr.New(syscall.EINVAL, "missing LOCAL socket path (where QEMU sends): the syntax is %s", dgramSyntax)
	}
	lnet, laddr, err := splitAddr(local, dgramSyntax)
	if err != nil {
		return nil, err
	}
	if lnet != "unix" {
		return nil, openerr.New(syscall.EINVAL, "LOCAL %s is HOST:PORT but REMOTE %s is a socket path: both must be of one kind", local, remote)
	}
	gid := -1
	if a.Group != "" {
		if gid, err = lookupGroup(a.Group); err != nil {
			return nil, err
		}
	}
	return newUnixDgram(laddr, raddr, a.Mode, gid, a.MaxFrame, descr)
}

// UnixDgram is a qemu-dgram:// endpoint on unix datagram sockets. It
// implements transports.Endpoint, transports.NonBlocking and
// transports.DropCounter (see lazydgram.Conn); Close also removes the
// socket file it bound.
type UnixDgram struct {
	*lazydgram.Conn
	path      string
	closeOnce sync.Once
	closeErr  error
}

func newUnixDgram(local, remote string, mode os.FileMode, gid, max int, descr string) (*UnixDgram, error) {
	if !abstract(local) {
		if err := removeStale(local, unix.SOCK_DGRAM); err != nil {
			return nil, err
		}
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, openerr.New(openerr.Errno(err, syscall.EINVAL), "unix socket: %v", err)
	}
	// A name starting with '@' is in the abstract namespace (x/sys/unix
	// maps it as Go's net package does).
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: local}); err != nil {
		unix.Close(fd)
		errno := openerr.Errno(err, syscall.EINVAL)
		return nil, openerr.New(errno, "cannot bind %s", local)
	}
	path := ""
	if !abstract(local) {
		path = local
		if gid >= 0 {
			if err := os.Lchown(local, -1, gid); err != nil {
				unix.Close(fd)
				os.Remove(local)
				errno := openerr.Errno(err, syscall.EPERM)
				return nil, openerr.New(errno, "cannot give %s to group %d", local, gid)
			}
		}
		if mode != 0 {
			os.Chmod(local, mode.Perm())
		}
	}
	if max <= 0 || max > MaxFrame {
		max = MaxFrame
	}
	c, err := lazydgram.New(fd, lazydgram.Config{Peer: &unix.SockaddrUnix{Name: remote}, MaxFrame: max, Descr: descr})
	if err != nil {
		if path != "" {
			os.Remove(path)
		}
		return nil, err
	}
	return &UnixDgram{Conn: c, path: path}, nil
}

// Close closes the socket and removes its file. It is safe to call more
// than once and from several goroutines: every call returns once the file
// is gone.
func (u *UnixDgram) Close() error {
	u.closeOnce.Do(func() {
		u.closeErr = u.Conn.Close()
		if u.path != "" {
			os.Remove(u.path)
		}
	})
	return u.closeErr
}
