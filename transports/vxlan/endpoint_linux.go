package vxlan

import (
	"fmt"
	"log"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/internal/vxnet"
	"github.com/govde/govde/transports/vnl"
)

// Endpoint is an open vxlan:// attachment. It implements
// transports.Endpoint and transports.DropCounter.
//
// ReadBatch and WriteBatch may run concurrently (one reader, one writer).
// WriteBatch blocks while the socket's send buffer is full (so a cable gets
// backpressure; WriteNeverBlocks is false). Close may be called from any
// goroutine; it unblocks both.
type Endpoint struct {
	cfg   Config
	route vxnet.Learned // where WriteBatch sends each frame
	sock  *vxnet.Socket
	rx    *vxnet.Receiver
	tx    *vxnet.Sender
	table *vxnet.Table
	match vxnet.Match
	group vxnet.Peer
	start time.Time
	max   int
	descr string

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error

	foreign, runts atomic.Uint64
}

// Stats are an endpoint's counters.
type Stats struct {
	Rx vxnet.ReceiverStats
	Tx vxnet.SenderStats
	// Foreign counts datagrams with another VNI or without the I flag.
	Foreign uint64
	// Runts counts datagrams too short to carry a frame.
	Runts uint64
	// Peers is the number of MACs currently learned.
	Peers int
}

// Open is the module's vnl.Opener: it parses arg and opens the endpoint.
// a.MaxFrame, when set, lowers the largest frame carried; the other fields
// are not used.
func Open(arg string, a vnl.Args) (transports.Endpoint, error) {
	cfg, err := ParseVNL(arg)
	if err != nil {
		return nil, err
	}
	if a.MaxFrame > 0 {
		cfg.MaxFrame = a.MaxFrame
	}
	e, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return e, nil
}

// New opens the socket cfg describes and returns the endpoint, which owns
// it. Errors name the module and what failed ("vxlan: bind 0.0.0.0:4789:
// Address already in use").
func New(cfg Config) (*Endpoint, error) {
	if cfg.Logf == nil {
		cfg.Logf = log.Printf
	}
	v6 := cfg.Addr.Is6()
	sc := vxnet.SocketConfig{
		V6:           v6,
		Bind:         cfg.bindAddr(),
		IfIndex:      cfg.IfIndex,
		MulticastTTL: cfg.TTL,
		UnicastTTL:   -1,
		NoLoop:       true,
		OnlyJoined:   true,
		RcvBuf:       cfg.RcvBuf,
	}
	if cfg.Addr.IsMulticast() {
		sc.Join = cfg.Addr
	}
	sock, err := vxnet.OpenUDP(sc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Module, err)
	}
	e := &Endpoint{
		cfg:   cfg,
		sock:  sock,
		table: vxnet.NewTable(cfg.HashSize, cfg.Expire),
		match: vxnet.Match{Want: vxnet.NewHeader(cfg.VNI)},
		group: cfg.Group(),
		start: time.Now(),
		max:   cfg.Common.MaxFrame(cfg.MaxFrame),
	}
	e.route = vxnet.Learned{Table: e.table, Group: e.group, Now: e.now}
	e.descr = fmt.Sprintf("%s://%s/vni=%d", Module, e.group, cfg.VNI)
	e.rx, err = vxnet.NewReceiver([]*vxnet.Socket{sock}, e.max, (*filter)(e))
	if err != nil {
		sock.Close()
		return nil, fmt.Errorf("%s: %w", Module, err)
	}
	e.tx = vxnet.NewSender(sock, e.match.Want, e.max, e.sendError)
	return e, nil
}

// now is the table clock: whole seconds since New (monotonic).
func (e *Endpoint) now() int64 { return int64(time.Since(e.start) / time.Second) }

// filter is the Endpoint seen as a vxnet.Filter.
type filter Endpoint

// Accept implements vxnet.Filter: frames with the I flag and our VNI are
// delivered, their source MAC learned as coming from the sender's address
// at the configured port.
func (f *filter) Accept(p *vxnet.Packet) bool {
	e := (*Endpoint)(f)
	switch e.match.Classify(p.Header, len(p.Frame)) {
	case vxnet.KindFrame:
	case vxnet.KindForeign:
		e.foreign.Add(1)
		return false
	default:
		e.runts.Add(1)
		return false
	}
	if src := p.Frame[6:12]; src[0]&1 == 0 {
		peer := p.From
		peer.Port = e.cfg.Port // kernels send from any port, listen on this one
		e.table.Learn(src, peer, e.now())
	}
	return true
}

// ReadBatch implements transports.Endpoint: it blocks until at least one
// frame of our VNI arrived, then appends what is ready to b.
func (e *Endpoint) ReadBatch(b *frames.Batch) error { return e.rx.ReadBatch(b) }

// WriteBatch implements transports.Endpoint: every frame of b goes out as
// one datagram, to its learned peer or to the group. Frames shorter than 14
// bytes or longer than MaxFrame are dropped and counted. It blocks while
// the socket's send buffer is full. The caller keeps ownership of b.
func (e *Endpoint) WriteBatch(b *frames.Batch) error {
	if e.closed.Load() {
		return transports.ErrClosed
	}
	return e.tx.WriteBatch(b, &e.route)
}

// MaxFrame returns the largest frame the endpoint carries: what one UDP
// datagram holds over the group's address family (65499 bytes over IPv4,
// 65519 over IPv6; the kernel fragments on smaller paths), unless
// configured lower.
func (e *Endpoint) MaxFrame() int { return e.max }

// Describe implements transports.Endpoint: "vxlan://GROUP:PORT/vni=N".
func (e *Endpoint) Describe() string { return e.descr }

// LocalPort returns the UDP port the socket is bound to.
func (e *Endpoint) LocalPort() uint16 { return e.sock.Local().Port() }

// Lookup returns the peer learned for mac, if any.
func (e *Endpoint) Lookup(mac frames.MAC) (vxnet.Peer, bool) { return e.table.Lookup(mac[:], e.now()) }

// Drops implements transports.DropCounter: frames dropped or refused on
// write, and runt or truncated datagrams on read.
func (e *Endpoint) Drops() (write, read uint64) {
	t := e.tx.Stats()
	return t.Dropped + t.Errors, e.runts.Load() + e.rx.Stats().Truncated
}

// Stats returns a snapshot of the counters.
func (e *Endpoint) Stats() Stats {
	return Stats{Rx: e.rx.Stats(), Tx: e.tx.Stats(), Foreign: e.foreign.Load(), Runts: e.runts.Load(), Peers: e.table.Len(e.now())}
}

// Close closes the socket; pending ReadBatch and WriteBatch calls return
// transports.ErrClosed. Safe to call more than once and concurrently: every
// call returns once the socket is closed.
func (e *Endpoint) Close() error {
	e.closeOnce.Do(func() {
		e.closed.Store(true)
		e.rx.Close()
		e.closeErr = e.sock.Close()
	})
	return e.closeErr
}

func (e *Endpoint) sendError(err error, suppressed uint64) {
	msg := Module + ": " + err.Error()
	if suppressed > 0 {
		msg += " (" + strconv.FormatUint(suppressed, 10) + " more send errors suppressed)"
	}
	e.cfg.Logf("%s", msg)
}

var (
	_ transports.Endpoint    = (*Endpoint)(nil)
	_ transports.DropCounter = (*Endpoint)(nil)
	_ vnl.Opener             = Open
)
