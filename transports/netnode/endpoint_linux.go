package netnode

import (
	"fmt"
	"log"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	node "github.com/govde/govde/actors/netnode"
	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/vde2"
	"github.com/govde/govde/transports/vnl"
)

// Endpoint is an open netnode seen from its host: ReadBatch returns the
// frames the node forwards to the host, WriteBatch injects frames from the
// host. It implements transports.Endpoint, transports.NonBlocking (writes
// never block: the node drops when overloaded) and transports.DropCounter.
// Close removes the node's directory and disconnects every client.
type Endpoint struct {
	cfg   Config
	node  *node.Node
	host  *node.Host
	srv   *vde2.Server
	max   int
	descr string

	closeOnce sync.Once
	closeErr  error
}

// Opener returns the vnl.Opener of the netnode kind k.
func Opener(k node.Kind) vnl.Opener {
	return func(arg string, a vnl.Args) (transports.Endpoint, error) {
		cfg, err := ParseVNL(k, arg, a)
		if err != nil {
			return nil, err
		}
		e, err := New(cfg)
		if err != nil {
			return nil, err
		}
		return e, nil
	}
}

// The vnl.Openers of the four kinds, for vnl.Register.
var (
	OpenHub     = Opener(node.Hub)
	OpenSwitch  = Opener(node.Switch)
	OpenMulti   = Opener(node.Multi)
	OpenBonding = Opener(node.Bonding)
)

// New creates the node's directory and control socket, starts the node and
// serves clients in the background. An existing cfg.Path gives an
// *os.PathError wrapping EEXIST ("File exists", as vdeplug).
func New(cfg Config) (*Endpoint, error) {
	if cfg.Logf == nil {
		cfg.Logf = log.Printf
	}
	max := cfg.MaxFrame
	if max <= 0 {
		max = DefaultMaxFrame
	}
	if max > frames.MaxJumbo {
		max = frames.MaxJumbo
	}
	if err := unix.Mkdir(cfg.Path, 0700); err != nil {
		return nil, &os.PathError{Op: "mkdir", Path: cfg.Path, Err: err}
	}
	n := node.New(node.Config{Kind: cfg.Kind, HashSize: cfg.HashSize, HashSeed: cfg.HashSeed, Expire: cfg.Expire})
	e := &Endpoint{cfg: cfg, node: n, host: n.Host(), max: max, descr: cfg.Kind.String() + "://" + cfg.Path}
	prefix := e.descr + ": "
	srv, err := vde2.Listen(vde2.ServerConfig{
		Dir: cfg.Path, Mode: cfg.Mode, DirMode: cfg.DirMode, Group: cfg.Group,
		Port0Mode: cfg.Mode, Port0Group: cfg.Group, MaxFrame: max,
	}, attacher{n}, func(format string, args ...any) { cfg.Logf(prefix+format, args...) })
	if err != nil {
		n.Close()
		unix.Rmdir(cfg.Path)
		return nil, fmt.Errorf("%s: %w", cfg.Kind, err)
	}
	e.srv = srv
	go srv.Serve()
	return e, nil
}

// attacher makes the node the vde2 server's switch.
type attacher struct{ n *node.Node }

func (a attacher) Attach(req vde2.Request, ep *vde2.Endpoint) (int, error) {
	return a.n.Attach(ep, req.Descr)
}

func (a attacher) Detach(ep *vde2.Endpoint) { a.n.Detach(ep) }

// Dir returns the node's directory.
func (e *Endpoint) Dir() string { return e.cfg.Path }

// Node returns the forwarding node (for statistics).
func (e *Endpoint) Node() *node.Node { return e.node }

// MaxFrame returns the largest frame taken from clients (longer datagrams
// are truncated): 9234 bytes as vde_plug's netnodes, or what --maxframe
// asked for, up to 65535 (unix datagram sockets carry that much).
func (e *Endpoint) MaxFrame() int { return e.max }

// ReadBatch implements transports.Endpoint (see actors/netnode.Host).
func (e *Endpoint) ReadBatch(b *frames.Batch) error { return e.host.ReadBatch(b) }

// WriteBatch implements transports.Endpoint: it never blocks; the caller
// keeps ownership of b.
func (e *Endpoint) WriteBatch(b *frames.Batch) error { return e.host.WriteBatch(b) }

// WriteNeverBlocks implements transports.NonBlocking: true.
func (e *Endpoint) WriteNeverBlocks() bool { return true }

// Drops implements transports.DropCounter (the host's queue).
func (e *Endpoint) Drops() (write, read uint64) { return e.host.Drops() }

// Describe implements transports.Endpoint: "KIND://PATH".
func (e *Endpoint) Describe() string { return e.descr }

// Close disconnects every client, removes the directory and stops the
// node; a pending ReadBatch returns transports.ErrClosed. Safe to call more
// than once and concurrently: every call returns once the work is done.
func (e *Endpoint) Close() error {
	e.closeOnce.Do(func() {
		e.host.Close()
		e.closeErr = e.srv.Close()
		e.node.Close()
	})
	return e.closeErr
}

var (
	_ transports.Endpoint    = (*Endpoint)(nil)
	_ transports.NonBlocking = (*Endpoint)(nil)
	_ transports.DropCounter = (*Endpoint)(nil)
)
