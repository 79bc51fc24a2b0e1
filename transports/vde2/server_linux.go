package vde2

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/transports/dgram"
)

// DefaultReadTimeout is how long the server waits for the request on a new
// control connection.
const DefaultReadTimeout = 5 * time.Second

// ctlBacklog is vde_switch's listen backlog.
const ctlBacklog = 15

// ServerConfig configures a switch directory. Use DefaultServerConfig to
// start from vde_switch's defaults: the zero values of Group and Port0Group
// mean gid 0, not "no group".
type ServerConfig struct {
	// Dir is the switch directory (-s). "" means /var/run/vde.ctl when
	// running as root, else /tmp/vde.ctl.
	Dir string
	// Mode is the permission of DIR/ctl and the base permission of the
	// endpoint sockets (-m). DirMode is the permission of DIR (--dirmode).
	// A zero value means "not given": the missing one(s) are derived as in
	// Modes (both zero: 0600 and 02700).
	Mode, DirMode int
	// Group is the gid DIR, DIR/ctl and the endpoint sockets are chowned
	// to (-g); -1 = none.
	Group int
	// Port0Mode and Port0Group are the permissions of the data sockets of
	// port-0 (REQ_NEW_PORT0) endpoints (--mgmtmode, --mgmtgroup); 0 means
	// DefaultPort0Mode, Port0Group -1 = none.
	Port0Mode  int
	Port0Group int
	// MaxFrame is the truncation length of received frames; 0 means
	// dgram.DefaultMaxFrame (1518, as vde_switch).
	MaxFrame int
	// ReadTimeout bounds the wait for the request on a new connection; 0
	// means DefaultReadTimeout.
	ReadTimeout time.Duration
}

// DefaultServerConfig returns vde_switch's defaults for dir: permissions
// derived by Modes, no group, 1518-byte frames.
func DefaultServerConfig(dir string) ServerConfig {
	return ServerConfig{Dir: dir, Group: -1, Port0Group: -1}
}

// Attacher is the switch behind a Server: it decides the port of every new
// endpoint and learns when an endpoint goes away.
type Attacher interface {
	// Attach is called once per accepted request, with req.UID filled in,
	// before the endpoint's socket file is bound and before the client gets
	// its reply. It returns the port number for the endpoint, or an error
	// to refuse the connection (bad port, access denied, port busy): the
	// server then logs it and closes the control connection so that the
	// client sees EOF. The switch may start reading and writing ep at once
	// (early writes fail harmlessly). Attach runs on the connection's own
	// goroutine, so calls for different connections may run concurrently;
	// it may block, delaying only this client (and Server.Close, which
	// waits for it).
	Attach(req Request, ep *Endpoint) (port int, err error)
	// Detach is called exactly once for every endpoint whose Attach
	// succeeded, after the endpoint has been closed: the client hung up,
	// broke the protocol, the reply could not be sent, or someone called
	// ep.Close or Server.Close. It runs on the connection's goroutine,
	// never inside Endpoint.Close, and Server.Close waits for it: it must
	// not wait for Server.Close to return.
	Detach(ep *Endpoint)
}

// Server is the switch side of a vde_switch directory: the listening DIR/ctl
// socket and the endpoints created through it.
type Server struct {
	dir         string
	ctlPath     string
	mode, dmode int
	cfg         ServerConfig
	att         Attacher
	logf        func(format string, args ...any)
	ln          *net.UnixListener

	mu        sync.Mutex
	closed    bool
	conns     map[*net.UnixConn]struct{} // handshakes in progress
	eps       map[*Endpoint]struct{}
	serving   bool
	serveDone chan struct{}
	wg        sync.WaitGroup
}

// AddrInUseError is returned by Listen when another switch answers on
// DIR/ctl. Its message is vde_switch's: "Could not bind to socket
// '<DIR>/ctl': Address already in use" (the switch then exits with status
// 255).
type AddrInUseError struct{ Dir string }

func (e *AddrInUseError) Error() string {
	return fmt.Sprintf("Could not bind to socket '%s/ctl': Address already in use", e.Dir)
}

// Unwrap returns syscall.EADDRINUSE.
func (e *AddrInUseError) Unwrap() error { return syscall.EADDRINUSE }

// Listen prepares the switch directory as vde_switch does at startup:
// mkdir DIR (an existing one is fine), resolve it with realpath, chown it to
// Group and chmod it to the directory mode, then bind DIR/ctl (a stale
// socket nobody answers on is replaced; a live one gives *AddrInUseError),
// chmod/chown it and listen. Connections are accepted only once Serve runs.
// logf receives one line per notable event (bad requests, refused
// connections, send errors); nil discards them.
func Listen(cfg ServerConfig, att Attacher, logf func(format string, args ...any)) (*Server, error) {
	if att == nil {
		return nil, errors.New("vde2: nil Attacher")
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	rel := cfg.Dir
	if rel == "" {
		rel = "/tmp/vde.ctl"
		if os.Geteuid() == 0 {
			rel = "/var/run/vde.ctl"
		}
	}
	mode, dmode, _ := Modes(cfg.Mode, cfg.DirMode, cfg.Mode != 0, cfg.DirMode != 0)
	if cfg.MaxFrame <= 0 {
		cfg.MaxFrame = dgram.DefaultMaxFrame
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.Port0Mode == 0 {
		cfg.Port0Mode = DefaultPort0Mode
	}
	if err := unix.Mkdir(rel, 0777); err != nil && err != unix.EEXIST {
		return nil, fmt.Errorf("Cannot create ctl directory '%s': %s", rel, strerror(err))
	}
	dir, err := realpath(rel)
	if err != nil {
		return nil, fmt.Errorf("Cannot resolve ctl dir path '%s': %s", rel, strerror(err))
	}
	if cfg.Group >= 0 {
		if err := unix.Chown(dir, -1, cfg.Group); err != nil {
			unix.Rmdir(dir)
			return nil, fmt.Errorf("Could not chown ctl dir '%s': %s", dir, strerror(err))
		}
	}
	if err := unix.Chmod(dir, uint32(dmode)); err != nil {
		return nil, fmt.Errorf("Could not set the VDE ctl directory '%s' permissions: %s", dir, strerror(err))
	}
	ctl := dir + "/ctl"
	if len(ctl) >= SunPathLen {
		return nil, fmt.Errorf("Could not bind to socket '%s': %s", ctl, strerror(unix.ENAMETOOLONG))
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("Could not obtain a BSD socket: %s", strerror(err))
	}
	sa := &unix.SockaddrUnix{Name: ctl}
	if err := unix.Bind(fd, sa); err != nil {
		if err != unix.EADDRINUSE {
			unix.Close(fd)
			return nil, fmt.Errorf("Could not bind to socket '%s': %s", ctl, strerror(err))
		}
		if stillUsed(ctl, logf) {
			unix.Close(fd)
			return nil, &AddrInUseError{dir}
		}
		if err := unix.Bind(fd, sa); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("Could not bind to socket '%s/ctl' (second attempt): %s", dir, strerror(err))
		}
	}
	fail := func(err error) (*Server, error) {
		unix.Close(fd)
		unix.Unlink(ctl)
		return nil, err
	}
	if err := unix.Chmod(ctl, uint32(mode)); err != nil {
		return fail(fmt.Errorf("Could not chmod socket '%s': %s", ctl, strerror(err)))
	}
	if cfg.Group >= 0 {
		if err := unix.Chown(ctl, -1, cfg.Group); err != nil {
			return fail(fmt.Errorf("Could not chown socket '%s': %s", ctl, strerror(err)))
		}
	}
	if err := unix.Listen(fd, ctlBacklog); err != nil {
		return fail(fmt.Errorf("Could not listen on fd %d: %s", fd, strerror(err)))
	}
	f := os.NewFile(uintptr(fd), ctl)
	l, err := net.FileListener(f)
	f.Close() // FileListener dups the fd
	if err != nil {
		unix.Unlink(ctl)
		return nil, fmt.Errorf("vde2: %w", err)
	}
	ul := l.(*net.UnixListener)
	ul.SetUnlinkOnClose(false) // Close does vde_switch's cleanup instead
	return &Server{
		dir: dir, ctlPath: ctl, mode: mode, dmode: dmode, cfg: cfg, att: att, logf: logf, ln: ul,
		conns: map[*net.UnixConn]struct{}{}, eps: map[*Endpoint]struct{}{},
		serveDone: make(chan struct{}),
	}, nil
}

// realpath resolves symlinks and makes p absolute, like realpath(3).
func realpath(p string) (string, error) {
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", err
	}
	return filepath.Abs(r)
}

// stillUsed reports whether a switch answers on the unix socket path; a
// refused connection means a stale socket, which it unlinks (vde_switch's
// still_used).
func stillUsed(path string, logf func(string, ...any)) bool {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return true
	}
	if !errors.Is(err, unix.ECONNREFUSED) {
		logf("connect %s", strerror(err))
		return true
	}
	if err := unix.Unlink(path); err != nil {
		logf("Failed to removed unused socket '%s': %s", path, strerror(err))
	}
	return false
}

// Dir returns the switch directory after realpath.
func (s *Server) Dir() string { return s.dir }

// CtlPath returns DIR/ctl.
func (s *Server) CtlPath() string { return s.ctlPath }

// Modes returns the permissions in use for DIR/ctl (and the endpoint
// sockets) and DIR.
func (s *Server) Modes() (ctlMode, dirMode int) { return s.mode, s.dmode }

// Endpoints returns the endpoints currently open (attached or being
// attached), in no particular order.
func (s *Server) Endpoints() []*Endpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := make([]*Endpoint, 0, len(s.eps))
	for ep := range s.eps {
		r = append(r, ep)
	}
	return r
}

// Serve accepts connections on DIR/ctl, each handled on its own goroutine,
// until Close; it then returns nil. Call it once. Transient accept errors
// (EMFILE...) are logged and retried after a pause.
func (s *Server) Serve() error {
	s.mu.Lock()
	if s.serving || s.closed {
		s.mu.Unlock()
		if s.closed {
			return nil
		}
		return errors.New("vde2: Serve called twice")
	}
	s.serving = true
	s.mu.Unlock()
	defer close(s.serveDone)
	var pause time.Duration
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			if s.isClosed() {
				return nil
			}
			if pause == 0 {
				pause = 5 * time.Millisecond
			} else if pause < time.Second {
				pause *= 2
			}
			s.logf("accept %s", strerror(err))
			time.Sleep(pause)
			continue
		}
		pause = 0
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return nil
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.handle(c)
	}
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close stops accepting, closes every endpoint (their clients see EOF on
// their control connections, their socket files are unlinked) and waits
// for the connection goroutines, including their Detach calls. Then it
// does vde_switch's cleanup: if nobody answers on DIR/ctl it unlinks ctl
// and removes DIR, logging "Could not remove ctl dir '...': Directory not
// empty" when stray files remain; if another switch answers it logs
// "Cleanup not removing files" and leaves everything. Safe to call more than
// once; only the first call does the work.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	serving := s.serving
	conns := make([]*net.UnixConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	eps := make([]*Endpoint, 0, len(s.eps))
	for ep := range s.eps {
		eps = append(eps, ep)
	}
	s.mu.Unlock()
	err := s.ln.Close()
	for _, c := range conns {
		c.Close()
	}
	for _, ep := range eps {
		ep.Close()
	}
	s.wg.Wait()
	if serving {
		<-s.serveDone
	}
	s.cleanup()
	return err
}

// cleanup is vde_switch's cleanup of the directory at exit.
func (s *Server) cleanup() {
	if c, err := net.DialTimeout("unix", s.ctlPath, time.Second); err == nil {
		c.Close()
		s.logf("Cleanup not removing files")
		return
	}
	if err := unix.Unlink(s.ctlPath); err != nil {
		s.logf("Could not remove ctl socket '%s': %s", s.dir, strerror(err))
	} else if err := unix.Rmdir(s.dir); err != nil {
		s.logf("Could not remove ctl dir '%s': %s", s.dir, strerror(err))
	}
}

// drainClose closes a control connection after discarding whatever the
// client sent and nobody read, so that the client sees a clean EOF rather
// than ECONNRESET.
func drainClose(c *net.UnixConn) {
	if rc, err := c.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			var buf [512]byte
			for i := 0; i < 128; i++ {
				n, _, err := unix.Recvfrom(int(fd), buf[:], unix.MSG_DONTWAIT)
				if n <= 0 || err != nil {
					return
				}
			}
		})
	}
	c.Close()
}

// handle runs one control connection: handshake, then wait for its end.
func (s *Server) handle(c *net.UnixConn) {
	defer s.wg.Done()
	ep := s.handshake(c)
	if ep == nil {
		return
	}
	s.watch(ep)
}

// reject logs why a handshake failed (unless the server is closing) and
// closes the connection.
func (s *Server) reject(c *net.UnixConn, format string, args ...any) {
	s.mu.Lock()
	delete(s.conns, c)
	closing := s.closed
	s.mu.Unlock()
	if !closing {
		s.logf(format, args...)
	}
	drainClose(c)
}

// handshake reads and checks the request, creates the endpoint, attaches
// it, binds its socket and replies. It returns the endpoint when the client
// got its reply, else nil (the connection is closed, the switch told).
func (s *Server) handshake(c *net.UnixConn) *Endpoint {
	var buf [MaxRequest]byte
	c.SetReadDeadline(time.Now().Add(s.cfg.ReadTimeout))
	n, err := c.Read(buf[:])
	if err != nil {
		switch {
		case err == io.EOF:
			s.reject(c, "EOF from new port")
		case errors.Is(err, os.ErrDeadlineExceeded):
			s.reject(c, "Timeout waiting for request (%v)", s.cfg.ReadTimeout)
		default:
			s.reject(c, "Reading request %s", strerror(err))
		}
		return nil
	}
	req, err := ParseRequest(buf[:n])
	if err != nil {
		s.reject(c, "%v", err)
		return nil
	}
	if req.ClientPath != "" {
		if err := unix.Access(req.ClientPath, unix.R_OK|unix.W_OK); err != nil {
			s.reject(c, "Cannot access client data socket '%s': %s", req.ClientPath, strerror(err))
			return nil
		}
		var st unix.Stat_t
		if unix.Stat(req.ClientPath, &st) == nil {
			req.UID = int(st.Uid)
		}
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		s.reject(c, "socket: %s", strerror(err))
		return nil
	}
	// The full sockaddr_un as the C switch (an abstract name is all 107
	// bytes after the NUL).
	if err := connectRaw(fd, &req.RawAddr); err != nil {
		unix.Close(fd)
		s.reject(c, "Connecting to client data socket %s", strerror(err))
		return nil
	}
	ep := &Endpoint{srv: s, req: req, id: fd, ctlID: -1, ctl: c}
	if rc, err := c.SyscallConn(); err == nil {
		rc.Control(func(cfd uintptr) { ep.ctlID = int(cfd) })
	}
	ep.port.Store(-1)
	ep.data, err = dgram.New(fd, dgram.Config{
		MaxFrame:     s.cfg.MaxFrame,
		Descr:        req.Descr,
		OnWriteError: ep.onWriteError,
		OnEmpty:      ep.onEmpty,
		SendBuffer:   dgram.DataSendBuffer,
	})
	if err != nil {
		s.reject(c, "%v", err)
		return nil
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ep.data.Close()
		drainClose(c)
		return nil
	}
	delete(s.conns, c)
	s.eps[ep] = struct{}{}
	s.mu.Unlock()

	port, err := s.att.Attach(req, ep)
	if err != nil {
		ep.closeWith(false)
		s.forget(ep)
		if !s.isClosed() {
			s.logf("Connection refused (port %d requested): %v", req.Port, err)
		}
		return nil
	}
	ep.port.Store(int64(port))
	if err := s.bindEndpoint(ep, port); err != nil {
		if ep.closeWith(false) && !s.isClosed() {
			s.logf("%v", err)
		}
		s.att.Detach(ep)
		s.forget(ep)
		return nil
	}
	return ep
}

// bindEndpoint binds ep's socket to DIR/NNN.ID, sets its permissions and
// sends the reply.
func (s *Server) bindEndpoint(ep *Endpoint, port int) error {
	path := fmt.Sprintf("%s/%03d.%d", s.dir, port, ep.id)
	ep.mu.Lock()
	if ep.closed {
		ep.mu.Unlock()
		return errors.New("endpoint closed during attach")
	}
	if err := unix.Unlink(path); err != nil && err != unix.ENOENT {
		ep.mu.Unlock()
		return fmt.Errorf("Binding to data socket %s", strerror(err))
	}
	err := ep.data.Control(func(fd int) error { return unix.Bind(fd, &unix.SockaddrUnix{Name: path}) })
	if err != nil {
		ep.mu.Unlock()
		return fmt.Errorf("Binding to data socket %s", strerror(err))
	}
	ep.path = path
	ep.mu.Unlock()

	user := ep.req.UID
	if os.Geteuid() != 0 {
		user = -1
	}
	mode := s.mode
	if user != -1 {
		mode &= 0700
	}
	unix.Chmod(path, uint32(mode))
	if user != -1 || s.cfg.Group != -1 {
		if err := unix.Chown(path, user, s.cfg.Group); err != nil {
			return fmt.Errorf("chown: %s", strerror(err))
		}
	}
	if ep.req.Type == ReqNewPort0 {
		// vde_switch's setmgmtperm
		unix.Chmod(path, uint32(s.cfg.Port0Mode))
		if s.cfg.Port0Group != -1 {
			if err := unix.Chown(path, -1, s.cfg.Port0Group); err != nil {
				s.logf("chown: %s", strerror(err))
			}
		}
	}
	ep.ctl.SetWriteDeadline(time.Now().Add(s.cfg.ReadTimeout))
	if _, err := ep.ctl.Write(EncodeSockaddr(path)); err != nil {
		return fmt.Errorf("Sending data socket name %s", strerror(err))
	}
	ep.ctl.SetWriteDeadline(time.Time{})
	return nil
}

// watch waits for the end of an attached endpoint's control connection,
// then closes the endpoint and detaches it.
func (s *Server) watch(ep *Endpoint) {
	ep.ctl.SetReadDeadline(time.Time{})
	var buf [64]byte
	n, _ := ep.ctl.Read(buf[:])
	// Data (a second request: the C switch would misparse it), EOF, an
	// error, or Close from our side: the endpoint ends in every case.
	if ep.closeWith(true) && n > 0 && !s.isClosed() {
		s.logf("Unexpected data on the control connection of port %d, closing endpoint %d", ep.Port(), ep.id)
	}
	s.att.Detach(ep)
	s.forget(ep)
}

func (s *Server) forget(ep *Endpoint) {
	s.mu.Lock()
	delete(s.eps, ep)
	s.mu.Unlock()
}
