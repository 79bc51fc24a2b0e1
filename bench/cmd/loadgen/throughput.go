package main

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/frames"
)

type throughputResult struct {
	Mode       string  `json:"mode"`
	Size       int     `json:"size"`
	Idle       int     `json:"idle"`
	RateTarget float64 `json:"rate_target"`
	Window     int     `json:"window"`
	Seconds    float64 `json:"seconds"`
	ConnectMS  float64 `json:"connect_ms"`
	// Attempted frames = Sent + SendEAGAIN + SendErrors.
	Attempted  uint64 `json:"attempted"`
	Sent       uint64 `json:"sent"`
	SendEAGAIN uint64 `json:"send_eagain"`
	SendErrors uint64 `json:"send_errors"`
	Delivered  uint64 `json:"delivered"`
	// BadSize counts delivered frames whose length changed on the way.
	BadSize uint64 `json:"bad_size"`
	// IdleRx counts data frames the idle clients received (a switch that
	// forgot the destination floods the unicast frames).
	IdleRx uint64 `json:"idle_rx"`
	// WindowWrittenOff counts in-flight frames given up on (with -window)
	// after B received nothing for 2 ms.
	WindowWrittenOff uint64  `json:"window_written_off"`
	OfferedFPS       float64 `json:"offered_fps"`
	DeliveredFPS     float64 `json:"delivered_fps"`
	DeliveredGbps    float64 `json:"delivered_gbps"`
	// LossPct is 1 - delivered/sent: lost after the switch accepted them.
	LossPct float64 `json:"loss_pct"`
	// SendEAGAINPct is the share of attempted frames the switch's input
	// socket refused (its queue was full): back-pressure, not loss.
	SendEAGAINPct   float64 `json:"send_eagain_pct"`
	RxFramesPerRead float64 `json:"rx_frames_per_read"`
	SwitchCPUPct    float64 `json:"switch_cpu_pct"`
	LoadgenCPUPct   float64 `json:"loadgen_cpu_pct"`
	// LoadgenAllocs is the number of heap allocations of the whole load
	// generator process while sending (a check that its loops do not
	// allocate per frame).
	LoadgenAllocs uint64 `json:"loadgen_allocs"`
}

// learn makes the switch learn the MACs of a and b (and of the others):
// every node sends a broadcast hello, repeated until a has seen b's and b
// has seen a's.
func learn(nodes []*node, aSawB, bSawA *atomic.Bool) error {
	hello := frames.GetBatch()
	defer hello.Release()
	deadline := time.Now().Add(5 * time.Second)
	for !aSawB.Load() || !bSawA.Load() {
		if time.Now().After(deadline) {
			return errors.New("MAC learning: the hello broadcasts between A and B did not get through")
		}
		for _, n := range nodes {
			hello.Add(buildFrame(broadcast, n.mac, 64, kindHello, n.idx))
			err := n.c.WriteBatch(hello)
			hello.ReleaseFrames()
			if err != nil {
				return fmt.Errorf("hello from client %d: %w", n.idx, err)
			}
		}
		for i := 0; i < 20 && (!aSawB.Load() || !bSawA.Load()); i++ {
			time.Sleep(5 * time.Millisecond)
		}
	}
	return nil
}

// waitQuiet waits at least lo, then until cnt stops changing for 50 ms
// (at most hi in all).
func waitQuiet(lo, hi time.Duration, cnt func() uint64) {
	start := time.Now()
	time.Sleep(lo)
	last := cnt()
	for time.Since(start) < hi {
		time.Sleep(50 * time.Millisecond)
		c := cnt()
		if c == last {
			return
		}
		last = c
	}
}

func runThroughput(o *options) (*throughputResult, error) {
	t0 := time.Now()
	nodes, err := dialNodes(o.dir, 2+o.idle)
	if err != nil {
		return nil, err
	}
	connect := time.Since(t0)
	a, b := nodes[0], nodes[1]

	var aSawB, bSawA atomic.Bool
	var rxFrames, rxBytes, rxReads, rxBad, idleRx atomic.Uint64
	size := o.size
	var wg sync.WaitGroup
	wg.Add(len(nodes))
	go func() {
		defer wg.Done()
		a.recvLoop(func(bt *frames.Batch) {
			for _, f := range bt.Slice() {
				p := f.Bytes()
				if kindOf(p) == kindHello && frames.Src(p) == b.mac {
					aSawB.Store(true)
				}
			}
		})
	}()
	go func() {
		defer wg.Done()
		b.recvLoop(func(bt *frames.Batch) {
			var n, by, bad uint64
			for _, f := range bt.Slice() {
				p := f.Bytes()
				switch kindOf(p) {
				case kindData:
					n++
					by += uint64(len(p))
					if len(p) != size {
						bad++
					}
				case kindHello:
					if frames.Src(p) == a.mac {
						bSawA.Store(true)
					}
				}
			}
			if n > 0 {
				rxFrames.Add(n)
				rxBytes.Add(by)
				rxReads.Add(1)
				if bad > 0 {
					rxBad.Add(bad)
				}
			}
		})
	}()
	for _, n := range nodes[2:] {
		go func() {
			defer wg.Done()
			n.recvLoop(func(bt *frames.Batch) {
				var c uint64
				for _, f := range bt.Slice() {
					if kindOf(f.Bytes()) == kindData {
						c++
					}
				}
				if c > 0 {
					idleRx.Add(c)
				}
			})
		}()
	}
	defer func() {
		closeNodes(nodes)
		wg.Wait()
	}()

	if err := learn(nodes, &aSawB, &bSawA); err != nil {
		return nil, err
	}
	time.Sleep(20 * time.Millisecond) // let the hellos settle

	batch := frames.GetBatch()
	for i := 0; i < frames.BatchSize; i++ {
		batch.Add(buildFrame(b.mac, a.mac, size, kindData, a.idx))
	}
	defer func() {
		batch.N = frames.BatchSize
		batch.Release()
	}()

	var pc pacer
	pc.init()
	defer pc.done()

	var sentA atomic.Uint64 // for the progress line
	stop := progress(o.progress, o.duration, func(el time.Duration) string {
		s := el.Seconds()
		return fmt.Sprintf("throughput %d B: %.0f/%.0f s  offered %.3f Mfps  delivered %.3f Mfps ",
			size, s, o.duration.Seconds(), float64(sentA.Load())/s/1e6, float64(rxFrames.Load())/s/1e6)
	})

	var cpu cpuMeter
	cpu.pid = o.switchPID
	rx0 := rxFrames.Load()
	idle0 := idleRx.Load()
	var attempted, sent, again, werrs uint64
	var backoff, wpause time.Duration
	var writtenOff, lastRx uint64
	var lastRxAt time.Time
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs0 := ms.Mallocs
	cpu.start()
	start := time.Now()
	end := start.Add(o.duration)
	for {
		now := time.Now()
		if !now.Before(end) {
			break
		}
		n := o.batch
		if o.rate > 0 {
			due := int64(o.rate*now.Sub(start).Seconds()) + 1 - int64(attempted)
			if due <= 0 {
				next := start.Add(time.Duration(float64(attempted) / o.rate * 1e9))
				pc.sleep(next.Sub(now))
				continue
			}
			if due < int64(n) {
				n = int(due)
			}
		}
		if o.window > 0 {
			// End-to-end flow control: at most window frames between
			// A's send and B's receive. While the window is full the
			// sender sleeps (a few µs, longer while B makes no
			// progress) rather than spin, so that it does not take the
			// CPU the switch and B need. Frames the switch dropped never
			// arrive: when B has received nothing for 2 ms, the frames
			// in flight are written off.
			rx := rxFrames.Load() - rx0
			inflight := int64(sent) - int64(rx) - int64(writtenOff)
			if rx != lastRx {
				lastRx, lastRxAt, wpause = rx, now, 0
			}
			if free := int64(o.window) - inflight; free < int64(n) {
				if free <= 0 {
					if now.Sub(lastRxAt) > 2*time.Millisecond {
						writtenOff += uint64(inflight)
						lastRxAt = now
					} else {
						wpause = min(max(2*wpause, 2*time.Microsecond), 128*time.Microsecond)
						pc.sleep(wpause)
					}
					continue
				}
				n = int(free)
			}
		}
		batch.N = n
		s, ag, e, err := sendBatch(a.c, batch)
		if err != nil {
			stop()
			return nil, fmt.Errorf("send: %w", err)
		}
		attempted += uint64(n)
		sent += s
		again += ag
		werrs += e
		sentA.Store(sent)
		if o.rate == 0 && o.backoff != "spin" {
			backoff = o.pause(&pc, backoff, s, ag)
		}
	}
	sendTime := time.Since(start)
	runtime.ReadMemStats(&ms)
	allocs := ms.Mallocs - mallocs0
	waitQuiet(o.drain, o.drain+2*time.Second, rxFrames.Load)
	swCPU, selfCPU := cpu.stop()
	stop()

	delivered := rxFrames.Load() - rx0
	secs := sendTime.Seconds()
	r := &throughputResult{
		Mode: "throughput", Size: size, Idle: o.idle, RateTarget: o.rate, Window: o.window,
		WindowWrittenOff: writtenOff,
		Seconds:          round(secs, 3), ConnectMS: round(connect.Seconds()*1e3, 1),
		Attempted: attempted, Sent: sent, SendEAGAIN: again, SendErrors: werrs,
		Delivered: delivered, BadSize: rxBad.Load(), IdleRx: idleRx.Load() - idle0,
		OfferedFPS:    round(float64(sent)/secs, 0),
		DeliveredFPS:  round(float64(delivered)/secs, 0),
		DeliveredGbps: round(float64(delivered)*float64(size)*8/secs/1e9, 4),
		SwitchCPUPct:  swCPU, LoadgenCPUPct: selfCPU, LoadgenAllocs: allocs,
	}
	if sent > 0 {
		r.LossPct = round(100*(1-float64(delivered)/float64(sent)), 3)
	}
	if attempted > 0 {
		r.SendEAGAINPct = round(100*float64(again)/float64(attempted), 2)
	}
	if reads := rxReads.Load(); reads > 0 {
		r.RxFramesPerRead = round(float64(rxFrames.Load())/float64(reads), 2)
	}
	return r, nil
}

// pause is the "as fast as possible" flow control. When the switch's input
// queue (net.unix.max_dgram_qlen datagrams) is full, sendmmsg fails with
// EAGAIN; spinning on it would take the CPU the switch needs to drain the
// queue (2-core machines). The client does not expose its socket for a
// poll on writability, so the sender sleeps instead, adapting the pause:
// nothing got through: double it; part got through: keep it; everything
// got through: halve it (and do not sleep). With -backoff yield, a partial
// batch only yields the CPU. It returns the new pause.
func (o *options) pause(pc *pacer, backoff time.Duration, sent, again uint64) time.Duration {
	const lo, hi = 2 * time.Microsecond, 256 * time.Microsecond
	switch {
	case again == 0:
		return backoff / 2
	case sent == 0:
		backoff = min(max(2*backoff, lo), hi)
	case o.backoff == "yield":
		unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
		return 0
	default:
		backoff = max(backoff, lo)
	}
	pc.sleep(backoff)
	return backoff
}
