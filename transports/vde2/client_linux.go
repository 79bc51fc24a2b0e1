package vde2

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/dgram"
)

// Client defaults.
const (
	// DefaultClientMode is the permission of the client's data socket.
	DefaultClientMode os.FileMode = 0700
	// DefaultDescr is vde_plug's description prefix.
	DefaultDescr = "vdeplug:"
	// DefaultDialTimeout bounds the handshake (the Debian switch never
	// answers a refused request).
	DefaultDialTimeout = 10 * time.Second
	// maxClientDescr is what libvdeplug keeps of the description
	// (MAXDESCR-1).
	maxClientDescr = 127
)

// DefaultSwitchDirs are tried in order when ClientConfig.Path is empty.
var DefaultSwitchDirs = []string{"/var/run/vde.ctl", "/tmp/vde.ctl"}

// fallbackDataDirs are tried for the client's data socket when it cannot be
// bound in the switch directory.
var fallbackDataDirs = []string{"/var/run", "/var/tmp", "/tmp"}

// ClientConfig is what vdeplug4's vde:// module takes from the VNL
// (vde://PATH[PORTGROUP/port=/portgroup=/group=/mode=]) and its open args.
type ClientConfig struct {
	// Path is the switch directory; "" tries DefaultSwitchDirs.
	Path string
	// Port is used only when PortGroup is empty: N > 0 asks for port N,
	// N < 0 for port 0 (REQ_NEW_PORT0), 0 for any port.
	Port int
	// PortGroup: all digits -> a port number ("0" -> REQ_NEW_PORT0); any
	// other text -> first try the stream socket DIR/<PortGroup> (a vde-4
	// port group), then DIR/ctl with "any port".
	PortGroup string
	// Group (name or number) is the group the data socket is chowned to.
	Group string
	// Mode is the permission of the data socket; 0 means
	// DefaultClientMode. When it grants nothing to group and others and
	// the switch belongs to another (non-root) user, group (or all) access
	// is added so that the switch can reach the socket, as vdeplug does.
	Mode os.FileMode
	// Descr is the description prefix ("" -> DefaultDescr); the switch gets
	// "<Descr> user=<name> pid=<pid>[ SSH=<ip>]", cut to 127 bytes.
	Descr string
	// DescrDone means Descr is already the full description (vnl.Open
	// decorates it as libvdeplug's vde_open does): send it as it is.
	DescrDone bool
	// MaxFrame is the truncation length of received frames; 0 means
	// frames.MaxStd (1522: a 1518-byte frame plus an 802.1Q tag, the most
	// a vde_switch sends).
	MaxFrame int
	// Timeout bounds the handshake; 0 means DefaultDialTimeout, < 0 none.
	Timeout time.Duration
}

// Client is a connection to a vde_switch (or anything speaking its
// protocol), the equivalent of vdeplug4's vde:// module. It implements
// transports.Endpoint, transports.NonBlocking and transports.DropCounter.
//
// ReadBatch and WriteBatch follow dgram.Conn: one reader and one writer at a
// time, WriteBatch never blocks (drops are counted). ReadBatch returns
// io.EOF once the switch has closed the control connection (port/epclose,
// port removal, switch exit), transports.ErrClosed after Close.
type Client struct {
	ctl        *net.UnixConn
	data       *dgram.Conn
	dir        string
	switchPath string
	descr      string
	port       int

	closing   atomic.Bool
	peerGone  atomic.Bool
	closeOnce sync.Once
	done      chan struct{}
}

// Dial connects to a switch as vdeplug4 does: resolve the directory with
// realpath (a missing one gives an error wrapping fs.ErrNotExist), connect
// to DIR/<portgroup> or DIR/ctl, bind the data socket DIR/.<pid>-<seq>
// (falling back to /var/run, /var/tmp, /tmp as vde.<pid>-<seq>), set its
// permissions, send the request in one write, read the switch's 110-byte
// sockaddr_un, connect the data socket to it, chmod the switch's socket to
// Mode (failure ignored) and unlink the client's socket file.
func Dial(cfg ClientConfig) (*Client, error) {
	mode := uint32(cfg.Mode.Perm())
	if mode == 0 {
		mode = uint32(DefaultClientMode)
	}
	descr := cfg.Descr
	if descr == "" {
		descr = DefaultDescr
	}
	if !cfg.DescrDone {
		descr = clientDescr(descr)
	} else if len(descr) > maxClientDescr {
		descr = descr[:maxClientDescr]
	}
	maxFrame := cfg.MaxFrame
	if maxFrame <= 0 {
		maxFrame = frames.MaxStd
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultDialTimeout
	}

	// port > 0: that port; -1: port 0; group: a non-numeric port group.
	port, group := cfg.Port, ""
	if cfg.PortGroup == "" {
		if port < 0 {
			port = -1
		}
	} else if n, ok := numeric(cfg.PortGroup); ok {
		port = n
		if port == 0 {
			port = -1
		}
	} else {
		group, port = cfg.PortGroup, 0
	}

	var dirs []string
	if cfg.Path != "" {
		d, err := realpath(cfg.Path)
		if err != nil {
			return nil, fmt.Errorf("vde_open %s: %w", cfg.Path, err)
		}
		dirs = []string{d}
	} else {
		dirs = DefaultSwitchDirs
	}
	var ctl *net.UnixConn
	var dir, ctlPath string
	var viaCtl bool
	var err error
	for _, d := range dirs {
		if ctl, ctlPath, viaCtl, err = connectSwitch(d, group, timeout); err == nil {
			dir = d
			break
		}
	}
	if ctl == nil {
		return nil, fmt.Errorf("vde_open %s: %w", cfg.Path, err)
	}
	c, err := handshake(ctl, dir, ctlPath, viaCtl, port, cfg.Group, mode, descr, maxFrame, timeout)
	if err != nil {
		ctl.Close()
		return nil, fmt.Errorf("vde_open %s: %w", cfg.Path, err)
	}
	go c.watch()
	return c, nil
}

// numeric reports whether s is a port number as vdeplug sees it (starts
// with a digit, all digits).
func numeric(s string) (int, bool) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// clientDescr builds libvdeplug's description.
func clientDescr(descr string) string {
	name := "??"
	if u, err := user.LookupId(strconv.Itoa(os.Getuid())); err == nil {
		name = u.Username
	}
	d := fmt.Sprintf("%s user=%s pid=%d", descr, name, os.Getpid())
	if ssh := os.Getenv("SSH_CLIENT"); ssh != "" {
		ip, _, _ := strings.Cut(ssh, " ")
		d += " SSH=" + ip
	}
	if len(d) > maxClientDescr {
		d = d[:maxClientDescr]
	}
	return d
}

// connectSwitch connects to DIR/<group> when group is set, else (or if
// that fails) to DIR/ctl. viaCtl tells which.
func connectSwitch(dir, group string, timeout time.Duration) (c *net.UnixConn, path string, viaCtl bool, err error) {
	if group != "" {
		path = dir + "/" + group
		if c, err = dialStream(path, timeout); err == nil {
			return c, path, false, nil
		}
	}
	path = dir + "/ctl"
	c, err = dialStream(path, timeout)
	return c, path, true, err
}

// bindData binds fd to DIR/.PPPPP-NNNNN or a fallback.
func bindData(fd int, dir string) (string, error) {
	pid := os.Getpid()
	try := func(format, d string) (string, error) {
		for seq := 0; seq < 100000; seq++ {
			p := fmt.Sprintf(format, d, pid, seq)
			err := unix.Bind(fd, &unix.SockaddrUnix{Name: p})
			if err == nil {
				return p, nil
			}
			if err != unix.EADDRINUSE {
				return "", fmt.Errorf("bind %s: %w", p, err)
			}
		}
		return "", unix.EADDRINUSE
	}
	p, err := try("%s/.%05d-%05d", dir)
	if err == nil {
		return p, nil
	}
	for _, d := range fallbackDataDirs {
		if p, err = try("%s/vde.%05d-%05d", d); err == nil {
			return p, nil
		}
	}
	return "", err
}

// lookupGroup accepts a group name or number.
func lookupGroup(g string) (int, error) {
	if gr, err := user.LookupGroup(g); err == nil {
		return strconv.Atoi(gr.Gid)
	}
	n, err := strconv.Atoi(g)
	if err != nil {
		return 0, fmt.Errorf("unknown group %q", g)
	}
	return n, nil
}

func handshake(ctl *net.UnixConn, dir, ctlPath string, viaCtl bool, port int, group string,
	mode uint32, descr string, maxFrame int, timeout time.Duration) (*Client, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	own, err := bindData(fd, dir)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	fail := func(err error) (*Client, error) {
		unix.Unlink(own)
		unix.Close(fd)
		return nil, err
	}
	if group != "" {
		gid, err := lookupGroup(group)
		if err != nil {
			return fail(err)
		}
		if err := unix.Chown(own, -1, gid); err != nil {
			return fail(fmt.Errorf("chown %s: %w", own, err))
		}
	} else if mode&077 == 0 {
		var st unix.Stat_t
		if unix.Stat(ctlPath, &st) == nil && st.Uid != 0 && int(st.Uid) != os.Geteuid() {
			if unix.Chown(own, -1, int(st.Gid)) == nil {
				mode |= 070
			} else {
				mode |= 077
			}
		}
	}
	unix.Chmod(own, mode)

	req := Request{Version: 3, Type: ReqNewControl, ClientPath: own, Descr: descr}
	if viaCtl && port != 0 {
		if port < 0 {
			req.Type = ReqNewPort0
		} else {
			req.Port = port
		}
	}
	if timeout > 0 {
		ctl.SetDeadline(time.Now().Add(timeout))
	}
	if _, err := ctl.Write(EncodeRequest(req)); err != nil {
		return fail(err)
	}
	var reply [SockaddrLen]byte
	if _, err := io.ReadFull(ctl, reply[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = errors.New("the switch closed the connection (request refused)")
		}
		return fail(err)
	}
	ctl.SetDeadline(time.Time{})
	swPath, _ := ParseSockaddr(reply[:])
	if err := connectRaw(fd, (*[SunPathLen]byte)(reply[2:])); err != nil {
		return fail(fmt.Errorf("connect %s: %w", swPath, err))
	}
	if swPath != "" {
		unix.Chmod(swPath, mode)
	}
	unix.Unlink(own)
	data, err := dgram.New(fd, dgram.Config{MaxFrame: maxFrame, Descr: descr, SendBuffer: dgram.DataSendBuffer})
	if err != nil {
		return nil, err
	}
	c := &Client{ctl: ctl, data: data, dir: dir, switchPath: swPath, descr: descr, port: -1,
		done: make(chan struct{})}
	if n, ok := numeric(strings.SplitN(filepath.Base(swPath), ".", 2)[0]); ok {
		c.port = n
	}
	return c, nil
}

// watch waits for the end of the control connection.
func (c *Client) watch() {
	defer close(c.done)
	var buf [64]byte
	for {
		if _, err := c.ctl.Read(buf[:]); err != nil {
			break
		}
	}
	if !c.closing.Load() {
		c.peerGone.Store(true)
		c.data.Close() // unblocks ReadBatch, which returns io.EOF
	}
}

// Done returns a channel closed when the control connection has ended
// (the switch dropped the client, or Close).
func (c *Client) Done() <-chan struct{} { return c.done }

// Dir returns the switch directory (after realpath).
func (c *Client) Dir() string { return c.dir }

// SwitchPath returns the switch's data socket for this client
// (DIR/NNN.ID), as received in the reply.
func (c *Client) SwitchPath() string { return c.switchPath }

// Port returns the port number taken from SwitchPath, -1 if it does not
// have the NNN.ID form.
func (c *Client) Port() int { return c.port }

// Describe implements transports.Endpoint: the description sent to the
// switch.
func (c *Client) Describe() string { return c.descr }

// ReadBatch implements transports.Endpoint (see dgram.Conn.ReadBatch).
func (c *Client) ReadBatch(b *frames.Batch) error {
	err := c.data.ReadBatch(b)
	if err != nil && errors.Is(err, transports.ErrClosed) && c.peerGone.Load() {
		return io.EOF
	}
	return err
}

// WriteBatch implements transports.Endpoint (see dgram.Conn.WriteBatch): it
// never blocks; the caller keeps ownership of b.
func (c *Client) WriteBatch(b *frames.Batch) error { return c.data.WriteBatch(b) }

// WriteNeverBlocks implements transports.NonBlocking: true.
func (c *Client) WriteNeverBlocks() bool { return true }

// Drops implements transports.DropCounter.
func (c *Client) Drops() (write, read uint64) { return c.data.Drops() }

// Stats returns the data socket's counters.
func (c *Client) Stats() dgram.Stats { return c.data.Stats() }

// Close closes the control connection (the switch frees the port) and the
// data socket, unblocking a pending ReadBatch, and waits for the internal
// watcher goroutine. Safe to call more than once.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.closing.Store(true)
		c.ctl.Close()
		c.data.Close()
	})
	<-c.done
	return nil
}

// TryWriteBatch implements transports.PartialWriter (see dgram.Conn).
func (c *Client) TryWriteBatch(b *frames.Batch, from int) (int, error) {
	return c.data.WritePartial(b, from)
}

// WaitWriteBatch implements transports.PartialWriter (see dgram.Conn).
func (c *Client) WaitWriteBatch(b *frames.Batch, from int, deadline time.Time) (int, error) {
	return c.data.WriteWait(b, from, deadline)
}

// DropFrames implements transports.PartialWriter.
func (c *Client) DropFrames(n int) { c.data.AddWriteDrops(n) }

// ReadMore implements transports.MoreReader (see dgram.Conn).
func (c *Client) ReadMore(b *frames.Batch) (int, error) { return c.data.ReadMore(b) }
