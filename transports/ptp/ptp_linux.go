// Package ptp is the ptp:// module in vdeplug4 4.0.1's datagram flavour (the
// one Debian bookworm installs; HEAD's seqpacket flavour is not
// wire-compatible with it): a point-to-point cable between two processes
// over two unix datagram sockets, PATH and PATH+ (spec
// vdeplug-and-tools.md §2.5).
//
// The first opener binds PATH and sends to PATH+; the second finds PATH in
// use, connects to it and binds PATH+. A socket file left by a dead process
// (connect refused) is removed and reused. Sends connect lazily, as udp://
// does (transports/internal/lazydgram), so the first opener starts sending
// as soon as the second exists, and either side may die and come back.
// Close removes the socket file this end bound. Frames up to
// frames.MaxJumbo cross (vdeplug4 stops at 9234).
package ptp

import (
	"os"
	"os/user"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/internal/lazydgram"
	"github.com/govde/govde/transports/internal/openerr"
	"github.com/govde/govde/transports/vnl"
)

// DefaultMode is the permission of the bound socket file unless Args.Mode
// says otherwise (vdeplug4's default).
const DefaultMode = 0700

// MaxFrame is the longest frame a ptp:// end moves.
const MaxFrame = frames.MaxJumbo

// maxPath is the longest socket path (sun_path without its NUL).
const maxPath = 107

// Endpoint is one end of a ptp:// cable. It implements
// transports.Endpoint, transports.NonBlocking and transports.DropCounter
// (see lazydgram.Conn for the concurrency rules).
type Endpoint struct {
	*lazydgram.Conn
	bound, peer string
	first       bool
	closeOnce   sync.Once
	closeErr    error
}

// Open is the ptp module's vnl.Opener: ptp://PATH. The argument is the path
// as written (no options, no decoding, as in vdeplug4); a.Mode (default
// 0700) and a.Group set the bound socket's permissions and group,
// a.MaxFrame bounds the frames read. It is not registered by this package.
func Open(arg string, a vnl.Args) (transports.Endpoint, error) {
	e, err := New(arg, a)
	if err != nil {
		return nil, err
	}
	return e, nil
}

// New opens the end of the ptp cable at path, taking the first role if
// nobody holds path, else the second.
func New(path string, a vnl.Args) (*Endpoint, error) {
	switch {
	case path == "":
		return nil, openerr.New(syscall.EINVAL, "missing socket path: the syntax is ptp://PATH")
	case len(path)+1 > maxPath:
		return nil, openerr.New(syscall.ENAMETOOLONG, "socket path %s+ is longer than %d bytes", path, maxPath)
	}
	gid := -1
	if a.Group != "" {
		g, err := lookupGroup(a.Group)
		if err != nil {
			return nil, err
		}
		gid = g
	}
	mode := a.Mode.Perm()
	if mode == 0 {
		mode = DefaultMode
	}
	max := a.MaxFrame
	if max <= 0 || max > MaxFrame {
		max = MaxFrame
	}
	e, err := open(path, path+"+", false, gid, mode, max)
	if err == nil || !errorsIsInUse(err) {
		return e, err
	}
	e, err = open(path+"+", path, true, gid, mode, max)
	if errorsIsInUse(err) {
		return nil, openerr.New(syscall.EADDRINUSE, "both ends of ptp %s are in use (%s and %s+ are bound by live processes)", path, path, path)
	}
	return e, err
}

// inUse is the error of a socket file another process is bound to.
type inUse struct{ path string }

// Error says which socket file is taken.
func (e *inUse) Error() string { return e.path + " is in use" }

func errorsIsInUse(err error) bool { _, ok := err.(*inUse); return ok }

// open takes one role: bind self (after removing a stale socket file
// there), with the peer at peer; the second opener (connected) first
// connects to the first one, which must exist.
func open(self, peer string, connected bool, gid int, mode os.FileMode, max int) (*Endpoint, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, openerr.New(openerr.Errno(err, syscall.EINVAL), "unix socket: %v", err)
	}
	fail := func(err error) (*Endpoint, error) { unix.Close(fd); return nil, err }
	if connected {
		if err := unix.Connect(fd, &unix.SockaddrUnix{Name: peer}); err != nil {
			errno := openerr.Errno(err, syscall.EINVAL)
			if errno == syscall.EPERM {
				// The first end is connected to another peer already.
				return fail(&inUse{peer})
			}
			return fail(openerr.New(errno, "cannot reach the ptp socket %s", peer))
		}
	}
	if err := removeStale(self); err != nil {
		return fail(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: self}); err != nil {
		errno := openerr.Errno(err, syscall.EINVAL)
		if errno == syscall.EADDRINUSE {
			return fail(&inUse{self})
		}
		return fail(openerr.New(errno, "cannot bind the ptp socket %s", self))
	}
	if gid >= 0 {
		if err := os.Lchown(self, -1, gid); err != nil {
			os.Remove(self)
			errno := openerr.Errno(err, syscall.EPERM)
			return fail(openerr.New(errno, "cannot give %s to group %d", self, gid))
		}
	}
	os.Chmod(self, mode) // as vdeplug4, a failure here is not fatal
	c, err := lazydgram.New(fd, lazydgram.Config{Peer: &unix.SockaddrUnix{Name: peer}, Connected: connected,
		ResetOnEmpty: true, MaxFrame: max, Descr: "ptp://" + peerBase(self, connected)})
	if err != nil {
		os.Remove(self)
		return nil, err
	}
	return &Endpoint{Conn: c, bound: self, peer: peer, first: !connected}, nil
}

func peerBase(self string, second bool) string {
	if second {
		return self[:len(self)-1]
	}
	return self
}

// removeStale removes path if it is a socket nobody answers on; it reports
// a live one as *inUse. Anything else is left for bind to refuse.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return openerr.New(syscall.EEXIST, "%s exists and is not a socket", path)
	}
	probe, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(probe)
	switch err := unix.Connect(probe, &unix.SockaddrUnix{Name: path}); err {
	case nil, unix.EPERM: // EPERM: alive, and connected to its peer
		return &inUse{path}
	case unix.ECONNREFUSED:
		os.Remove(path)
	}
	return nil
}

func lookupGroup(name string) (int, error) {
	if g, err := user.LookupGroup(name); err == nil {
		return strconv.Atoi(g.Gid)
	}
	if n, err := strconv.Atoi(name); err == nil && n >= 0 {
		return n, nil
	}
	return -1, openerr.New(syscall.EINVAL, "no such group %q", name)
}

// Path returns the socket file this end bound (PATH or PATH+).
func (e *Endpoint) Path() string { return e.bound }

// First reports whether this end took the first role (bound PATH).
func (e *Endpoint) First() bool { return e.first }

// Close closes the socket and removes the socket file this end bound. It
// is safe to call more than once and from several goroutines: every call
// returns once the file is gone.
func (e *Endpoint) Close() error {
	e.closeOnce.Do(func() {
		e.closeErr = e.Conn.Close()
		os.Remove(e.bound)
	})
	return e.closeErr
}
