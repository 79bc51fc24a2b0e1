package vxvde

import (
	"fmt"
	"log"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/internal/vxnet"
	"github.com/govde/govde/transports/vnl"
)

// Socket indexes in the receiver.
const (
	sockPort = 0 // bound to the port, joined to the group
	sockUni  = 1 // bound to the uniport, sends everything
)

// Endpoint is an open vxvde:// member. It implements transports.Endpoint
// and transports.DropCounter.
//
// ReadBatch and WriteBatch may run concurrently (one reader, one writer).
// WriteBatch blocks while the send buffer is full (WriteNeverBlocks is
// false). Close may be called from any goroutine; it sends the goodbye
// datagram and unblocks both.
type Endpoint struct {
	cfg     Config
	route   vxnet.Learned // where WriteBatch sends each frame
	port    *vxnet.Socket
	uni     *vxnet.Socket
	uniport uint16
	rx      *vxnet.Receiver
	tx      *vxnet.Sender
	table   *vxnet.Table
	local   *vxnet.LocalAddrs
	match   vxnet.Match
	group   vxnet.Peer
	start   time.Time
	max     int
	descr   string

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error

	lastLocal netip.Addr // reader only: the last source found local

	foreign, runts, echoes, goodbyes atomic.Uint64
}

// Stats are an endpoint's counters.
type Stats struct {
	Rx vxnet.ReceiverStats
	Tx vxnet.SenderStats
	// Foreign counts datagrams whose header is not exactly ours.
	Foreign uint64
	// Runts counts datagrams too short to carry a frame.
	Runts uint64
	// Echoes counts our own multicast datagrams that came back.
	Echoes uint64
	// Goodbyes counts goodbye datagrams from other members.
	Goodbyes uint64
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

// New opens the two sockets cfg describes and returns the member, which
// owns them.
func New(cfg Config) (*Endpoint, error) {
	if cfg.Logf == nil {
		cfg.Logf = log.Printf
	}
	v6 := cfg.Addr.Is6()
	port, err := vxnet.OpenUDP(vxnet.SocketConfig{
		V6:           v6,
		Bind:         netip.AddrPortFrom(netip.Addr{}, cfg.Port),
		ReuseAddr:    true,
		Join:         cfg.Addr,
		IfIndex:      cfg.IfIndex,
		MulticastTTL: -1,
		UnicastTTL:   -1,
		PktInfo:      true,
		OnlyJoined:   true,
		RcvBuf:       cfg.RcvBuf,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Module, err)
	}
	uni, err := vxnet.OpenUDP(vxnet.SocketConfig{
		V6:           v6,
		Bind:         netip.AddrPortFrom(cfg.Bind, 0),
		IfIndex:      cfg.IfIndex,
		MulticastTTL: cfg.TTL,
		UnicastTTL:   cfg.TTL,
		RcvBuf:       cfg.RcvBuf,
	})
	if err != nil {
		port.Close()
		return nil, fmt.Errorf("%s: %w", Module, err)
	}
	local, err := vxnet.NewLocalAddrs()
	if err != nil {
		port.Close()
		uni.Close()
		return nil, fmt.Errorf("%s: %w", Module, err)
	}
	e := &Endpoint{
		cfg:     cfg,
		port:    port,
		uni:     uni,
		uniport: uni.Local().Port(),
		table:   vxnet.NewTable(cfg.HashSize, cfg.Expire),
		local:   local,
		match:   vxnet.Match{Want: vxnet.NewHeader(cfg.VNI), Exact: true},
		group:   cfg.Group(),
		start:   time.Now(),
		max:     cfg.Common.MaxFrame(cfg.MaxFrame),
	}
	e.route = vxnet.Learned{Table: e.table, Group: e.group, Now: e.now}
	e.descr = fmt.Sprintf("%s://%s/vni=%d", Module, e.group, cfg.VNI)
	e.rx, err = vxnet.NewReceiver([]*vxnet.Socket{port, uni}, e.max, (*filter)(e))
	if err != nil {
		port.Close()
		uni.Close()
		local.Close()
		return nil, fmt.Errorf("%s: %w", Module, err)
	}
	e.tx = vxnet.NewSender(uni, e.match.Want, e.max, e.sendError)
	return e, nil
}

// now is the table clock: whole seconds since New (monotonic).
func (e *Endpoint) now() int64 { return int64(time.Since(e.start) / time.Second) }

// filter is the Endpoint seen as a vxnet.Filter.
type filter Endpoint

// Accept implements vxnet.Filter.
func (f *filter) Accept(p *vxnet.Packet) bool {
	e := (*Endpoint)(f)
	switch e.match.Classify(p.Header, len(p.Frame)) {
	case vxnet.KindFrame:
	case vxnet.KindGoodbye:
		e.goodbyes.Add(1)
		e.table.Forget(p.From)
		return false
	case vxnet.KindForeign:
		e.foreign.Add(1)
		return false
	default:
		e.runts.Add(1)
		return false
	}
	if p.Sock == sockPort && p.From.Port == e.uniport && e.isLocal(p) {
		e.echoes.Add(1)
		return false
	}
	if src := p.Frame[6:12]; src[0]&1 == 0 {
		peer := p.From
		if p.Sock == sockPort && p.HasDst() && !p.DstIsMulticast() {
			// Sent to our address at the port: such a sender (a kernel
			// vxlan device, say) listens on the port, not on its source.
			peer.Port = e.cfg.Port
		}
		e.table.Learn(src, peer, e.now())
	}
	return true
}

// isLocal reports whether a datagram from our uniport comes from this
// host: an unspecified source (multicast sent through an interface without
// a usable address, such as lo), the address it arrived on (IPv4), the last
// local source seen, or one of the host's addresses.
func (e *Endpoint) isLocal(p *vxnet.Packet) bool {
	src := p.From.IP()
	if src.IsUnspecified() {
		return true
	}
	if a, ok := p.SpecDst(); ok && a == src {
		return true
	}
	if src == e.lastLocal {
		return true
	}
	if e.local.Has(src) {
		e.lastLocal = src
		return true
	}
	return false
}

// ReadBatch implements transports.Endpoint: it blocks until at least one
// frame of our VNI from another member arrived, then appends what is ready
// to b.
func (e *Endpoint) ReadBatch(b *frames.Batch) error { return e.rx.ReadBatch(b) }

// WriteBatch implements transports.Endpoint: every frame of b goes out as
// one datagram from the uniport, to its learned peer or to the group.
// Frames shorter than 14 bytes or longer than MaxFrame are dropped and
// counted. It blocks while the send buffer is full. The caller keeps
// ownership of b.
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

// Describe implements transports.Endpoint: "vxvde://GROUP:PORT/vni=N".
func (e *Endpoint) Describe() string { return e.descr }

// UniPort returns the port everything is sent from.
func (e *Endpoint) UniPort() uint16 { return e.uniport }

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
	return Stats{Rx: e.rx.Stats(), Tx: e.tx.Stats(), Foreign: e.foreign.Load(), Runts: e.runts.Load(),
		Echoes: e.echoes.Load(), Goodbyes: e.goodbyes.Load(), Peers: e.table.Len(e.now())}
}

// Close sends the goodbye datagram (the header alone) to the group, then
// closes the sockets; pending ReadBatch and WriteBatch calls return
// transports.ErrClosed. Safe to call more than once and concurrently:
// every call returns once the work is done.
func (e *Endpoint) Close() error {
	e.closeOnce.Do(func() {
		e.closed.Store(true)
		e.uni.SendTo(e.match.Want, nil, e.group)
		e.rx.Close()
		e.local.Close()
		e.port.Close()
		e.closeErr = e.uni.Close()
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
