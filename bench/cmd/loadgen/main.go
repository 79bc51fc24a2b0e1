// Command loadgen is a load generator speaking the vde2 protocol (through
// transports/vde2, the same client side as vde_plug), so it can drive any
// vde_switch: govde's or the original C one. It attaches to the switch
// directory as one or more clients, runs one measurement and prints one JSON
// line of results on stdout. Runs longer than 2 s print a progress line on
// stderr once a second.
//
// Modes:
//
//	-mode throughput  client A sends unicast frames to client B as fast as
//	                  the switch takes them (or at -rate frames/s, or with
//	                  at most -window frames in flight); B counts.
//	-mode pingpong    A sends one frame to B, B echoes it back, A measures
//	                  the round trip (timestamp inside the payload).
//	-mode flood       -clients clients each send broadcasts at -rate
//	                  frames/s; every client counts what it receives,
//	                  and from whom.
//	-mode idle        -clients clients send one broadcast hello each, then
//	                  only read until SIGTERM (or -duration); -ready FILE
//	                  is created once they are attached (used to attach
//	                  idle ports next to other clients, and to measure a
//	                  switch's memory with many ports).
//
// Counting: "sent" (offered) is what the kernel accepted from the sender's
// sendmmsg; frames the sender's socket refused (EAGAIN: the switch's input
// queue was full) are reported separately as send_eagain and are not part
// of the loss. "loss" is 1 - delivered/sent, i.e. frames the switch accepted
// but did not deliver (dropped inside the switch or on its output socket).
//
// The per-frame loops do not allocate: the send batches are built once and
// reused (WriteBatch leaves ownership with the caller), received batches
// are released back to the frames pools after counting.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/vde2"
)

// Frame layout used by every mode (after the 14-byte Ethernet header):
//
//	14     magic 'G'
//	15     kind
//	16..23 sequence number (big endian)
//	24..31 send timestamp, ns since the run's start (monotonic)
//	32..35 sender index
const (
	etherType = 0x88b5 // IEEE local experimental
	offMagic  = 14
	offKind   = 15
	offSeq    = 16
	offTime   = 24
	offSender = 32
	hdrLen    = 36
	magic     = 'G'

	kindHello = 1
	kindData  = 2
	kindPing  = 3
	kindPong  = 4
	kindFlood = 5
)

var broadcast = frames.MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

type options struct {
	dir       string
	mode      string
	size      int
	duration  time.Duration
	rate      float64
	idle      int
	count     int
	warmup    int
	clients   int
	switchPID int
	drain     time.Duration
	timeout   time.Duration
	progress  bool
	batch     int
	window    int
	backoff   string
	ready     string
}

func main() {
	var o options
	flag.StringVar(&o.dir, "dir", "", "switch directory (vde_switch -s DIR)")
	flag.StringVar(&o.mode, "mode", "throughput", "throughput, pingpong, flood or idle")
	flag.IntVar(&o.size, "size", 64, "frame size in bytes (Ethernet header included, no FCS)")
	flag.DurationVar(&o.duration, "duration", 3*time.Second, "sending time (throughput, flood)")
	flag.Float64Var(&o.rate, "rate", 0, "throughput: frames/s offered, 0 = as fast as the switch takes them; flood: broadcasts/s per client (default 5)")
	flag.IntVar(&o.idle, "idle", 0, "throughput: extra idle clients attached (they only read)")
	flag.IntVar(&o.count, "count", 10000, "pingpong: measured round trips")
	flag.IntVar(&o.warmup, "warmup", 200, "pingpong: round trips before measuring")
	flag.IntVar(&o.clients, "clients", 200, "flood, idle: number of clients")
	flag.IntVar(&o.switchPID, "switch-pid", 0, "pid of the switch, to report its CPU use during the run")
	flag.DurationVar(&o.drain, "drain", 200*time.Millisecond, "wait for stragglers after sending stops")
	flag.DurationVar(&o.timeout, "timeout", 0, "abort the whole run after this long (0: duration + 60 s)")
	flag.IntVar(&o.batch, "batch", frames.BatchSize, "throughput: frames per sendmmsg (1-64)")
	flag.IntVar(&o.window, "window", 0, "throughput: at most this many frames between A's send and B's receive (0: no limit)")
	flag.StringVar(&o.backoff, "backoff", "sleep", "throughput without -rate, when the switch's input queue is full: sleep (adaptive pause), yield (sched_yield, sleep only when nothing got through) or spin")
	flag.StringVar(&o.ready, "ready", "", "idle: create this file once the clients are attached")
	flag.BoolVar(&o.progress, "progress", true, "progress line on stderr for runs longer than 2 s")
	flag.Parse()
	if o.dir == "" {
		fail(errors.New("-dir is required"))
	}
	if o.size < hdrLen || o.size > 1518 {
		fail(fmt.Errorf("-size must be in [%d, 1518]", hdrLen))
	}
	if o.batch < 1 || o.batch > frames.BatchSize {
		fail(fmt.Errorf("-batch must be in [1, %d]", frames.BatchSize))
	}
	switch o.backoff {
	case "yield", "sleep", "spin":
	default:
		fail(fmt.Errorf("unknown -backoff %q", o.backoff))
	}
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.mode == "idle" && !set["duration"] {
		o.duration = time.Hour // until SIGTERM
	}
	if o.timeout == 0 {
		o.timeout = o.duration + 60*time.Second
	}
	// A switch that hangs must not hang the benchmark script.
	time.AfterFunc(o.timeout, func() { fail(fmt.Errorf("timeout after %v", o.timeout)) })

	var res any
	var err error
	switch o.mode {
	case "throughput":
		res, err = runThroughput(&o)
	case "pingpong":
		res, err = runPingPong(&o)
	case "flood":
		if o.rate == 0 {
			o.rate = 5
		}
		res, err = runFlood(&o)
	case "idle":
		res, err = runIdle(&o)
	default:
		err = fmt.Errorf("unknown -mode %q", o.mode)
	}
	if err != nil {
		fail(err)
	}
	out, _ := json.Marshal(res)
	os.Stdout.Write(append(out, '\n'))
}

// fail prints a JSON error line (so that the caller's result file stays
// parseable) and exits with status 1.
func fail(err error) {
	out, _ := json.Marshal(map[string]string{"error": err.Error()})
	os.Stdout.Write(append(out, '\n'))
	fmt.Fprintln(os.Stderr, "loadgen:", err)
	os.Exit(1)
}

// node is one client attached to the switch.
type node struct {
	c   *vde2.Client
	mac frames.MAC
	idx int
}

func nodeMAC(i int) frames.MAC {
	return frames.MAC{0x02, 'G', 'V', byte(i >> 16), byte(i >> 8), byte(i)}
}

// dialNodes attaches n clients to the switch in dir.
func dialNodes(dir string, n int) ([]*node, error) {
	nodes := make([]*node, 0, n)
	for i := 0; i < n; i++ {
		c, err := vde2.Dial(vde2.ClientConfig{Path: dir, Descr: "loadgen:", Timeout: 5 * time.Second})
		if err != nil {
			closeNodes(nodes)
			return nil, fmt.Errorf("client %d: %w", i, err)
		}
		nodes = append(nodes, &node{c: c, mac: nodeMAC(i + 1), idx: i})
	}
	return nodes, nil
}

func closeNodes(nodes []*node) {
	for _, n := range nodes {
		n.c.Close()
	}
}

// recvLoop reads batches until the client is closed, handing each to fn,
// then releases the frames. It returns when ReadBatch fails.
func (n *node) recvLoop(fn func(b *frames.Batch)) {
	b := frames.GetBatch()
	defer b.Release()
	for {
		if err := n.c.ReadBatch(b); err != nil {
			if !errors.Is(err, transports.ErrClosed) {
				fmt.Fprintf(os.Stderr, "loadgen: client %d: read: %v\n", n.idx, err)
			}
			return
		}
		fn(b)
		b.ReleaseFrames()
	}
}

// buildFrame fills a new frame buffer of size bytes.
func buildFrame(dst, src frames.MAC, size int, kind byte, sender int) *frames.Buf {
	f := frames.Get(size)
	p := f.Space()[:size]
	clear(p)
	copy(p[0:6], dst[:])
	copy(p[6:12], src[:])
	p[12], p[13] = etherType>>8, etherType&0xff
	p[offMagic], p[offKind] = magic, kind
	putU32(p[offSender:], uint32(sender))
	for i := hdrLen; i < size; i++ {
		p[i] = byte(i)
	}
	f.SetLen(size)
	return f
}

func kindOf(p []byte) byte {
	if len(p) < hdrLen || p[offMagic] != magic {
		return 0
	}
	return p[offKind]
}

func putU64(p []byte, v uint64) {
	for i := 0; i < 8; i++ {
		p[i] = byte(v >> (56 - 8*i))
	}
}

func getU64(p []byte) uint64 {
	var v uint64
	for i := 0; i < 8; i++ {
		v = v<<8 | uint64(p[i])
	}
	return v
}

func getU32(p []byte) uint32 {
	return uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3])
}

func putU32(p []byte, v uint32) {
	p[0], p[1], p[2], p[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
}

// sendBatch writes b on c and returns how many frames the kernel accepted
// and how many were refused with EAGAIN (the other write errors are
// returned as errs).
func sendBatch(c *vde2.Client, b *frames.Batch) (sent, again, errs uint64, err error) {
	s0 := c.Stats()
	err = c.WriteBatch(b)
	s1 := c.Stats()
	return s1.WriteFrames - s0.WriteFrames, s1.WriteAgain - s0.WriteAgain, s1.WriteErrors - s0.WriteErrors, err
}

// pacer sleeps with microsecond precision: it locks the calling goroutine
// to its thread and lowers that thread's timer slack so that nanosleep
// returns close to the deadline (time.Sleep rounds up to about 1 ms when
// the runtime is idle).
type pacer struct{ locked bool }

func (p *pacer) init() {
	runtime.LockOSThread()
	p.locked = true
	unix.Prctl(unix.PR_SET_TIMERSLACK, 1000, 0, 0, 0) // 1 µs
}

func (p *pacer) done() {
	if p.locked {
		runtime.UnlockOSThread()
	}
}

func (p *pacer) sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	ts := unix.NsecToTimespec(int64(d))
	for unix.Nanosleep(&ts, &ts) == unix.EINTR {
	}
}

// cpuMeter samples the CPU time of the switch process (from /proc) and of
// this process (getrusage) over an interval.
type cpuMeter struct {
	pid          int
	t0           time.Time
	sw0, self0   time.Duration
	swOK, selfOK bool
}

func procCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	// after the comm field: state is field 3 (f[0]); utime 14, stime 15.
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	const clkTck = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / clkTck, true
}

func selfCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

func (m *cpuMeter) start() {
	m.t0 = time.Now()
	if m.pid > 0 {
		m.sw0, m.swOK = procCPU(m.pid)
	}
	m.self0, m.selfOK = selfCPU()
}

// stop returns the CPU use in percent of one core (-1 when unknown).
func (m *cpuMeter) stop() (sw, self float64) {
	el := time.Since(m.t0).Seconds()
	sw, self = -1, -1
	if m.swOK {
		if t, ok := procCPU(m.pid); ok {
			sw = round(100*(t-m.sw0).Seconds()/el, 1)
		}
	}
	if m.selfOK {
		if t, ok := selfCPU(); ok {
			self = round(100*(t-m.self0).Seconds()/el, 1)
		}
	}
	return sw, self
}

func round(v float64, digits int) float64 {
	p := 1.0
	for i := 0; i < digits; i++ {
		p *= 10
	}
	if v < 0 {
		return -float64(int64(-v*p+0.5)) / p
	}
	return float64(int64(v*p+0.5)) / p
}

// progress prints a status line on stderr once a second while the run
// lasts longer than 2 s; stop ends it.
func progress(enabled bool, total time.Duration, line func(el time.Duration) string) (stop func()) {
	if !enabled || total <= 2*time.Second {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprintln(os.Stderr)
				return
			case <-t.C:
				fmt.Fprintf(os.Stderr, "\rloadgen %s", line(time.Since(start)))
			}
		}
	}()
	return func() { close(done); <-finished }
}
