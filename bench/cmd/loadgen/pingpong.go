package main

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/govde/govde/frames"
)

type pingPongResult struct {
	Mode      string  `json:"mode"`
	Size      int     `json:"size"`
	Count     int     `json:"count"`
	Warmup    int     `json:"warmup"`
	ConnectMS float64 `json:"connect_ms"`
	// Lost round trips: no echo within 100 ms (the run goes on with the
	// next ping; an echo that comes later is ignored, see PongsAtA);
	// SendEAGAIN pings the sender's socket refused (retried, not lost).
	Lost         int     `json:"lost"`
	SendEAGAIN   uint64  `json:"send_eagain"`
	MinUS        float64 `json:"min_us"`
	MeanUS       float64 `json:"mean_us"`
	P50US        float64 `json:"p50_us"`
	P90US        float64 `json:"p90_us"`
	P99US        float64 `json:"p99_us"`
	MaxUS        float64 `json:"max_us"`
	RoundTripsPS float64 `json:"round_trips_per_s"`
	// PingsAtB and PongsAtA count every ping B received and every pong A
	// received (warm-up included, late ones too): with Sent they show on
	// which leg lost round trips disappeared.
	PingsSent     uint64  `json:"pings_sent"`
	PingsAtB      uint64  `json:"pings_at_b"`
	PongsAtA      uint64  `json:"pongs_at_a"`
	SwitchCPUPct  float64 `json:"switch_cpu_pct"`
	LoadgenCPUPct float64 `json:"loadgen_cpu_pct"`
}

type pong struct {
	seq uint64
	rtt time.Duration
}

const pingTimeout = 100 * time.Millisecond

func runPingPong(o *options) (*pingPongResult, error) {
	t0 := time.Now()
	nodes, err := dialNodes(o.dir, 2)
	if err != nil {
		return nil, err
	}
	connect := time.Since(t0)
	a, b := nodes[0], nodes[1]
	base := time.Now()

	var aSawB, bSawA atomic.Bool
	var cur atomic.Uint64 // sequence number A waits for
	var pingsAtB, pongsAtA, pingsSent atomic.Uint64
	got := make(chan pong, 4)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // A: takes the pongs
		defer wg.Done()
		a.recvLoop(func(bt *frames.Batch) {
			for _, f := range bt.Slice() {
				p := f.Bytes()
				switch kindOf(p) {
				case kindPong:
					pongsAtA.Add(1)
					seq := getU64(p[offSeq:])
					if seq != cur.Load() {
						continue // late answer to a ping given up on
					}
					rtt := time.Since(base) - time.Duration(getU64(p[offTime:]))
					select {
					case got <- pong{seq, rtt}:
					default:
					}
				case kindHello:
					if frames.Src(p) == b.mac {
						aSawB.Store(true)
					}
				}
			}
		})
	}()
	go func() { // B: echoes the pings
		defer wg.Done()
		out := frames.GetBatch()
		defer out.Recycle() // holds no references of its own
		b.recvLoop(func(bt *frames.Batch) {
			out.N = 0
			for _, f := range bt.Slice() {
				p := f.Bytes()
				switch kindOf(p) {
				case kindPing:
					pingsAtB.Add(1)
					// bt holds the only reference: turn it around in place.
					copy(p[0:6], p[6:12])
					copy(p[6:12], b.mac[:])
					p[offKind] = kindPong
					out.Add(f)
				case kindHello:
					if frames.Src(p) == a.mac {
						bSawA.Store(true)
					}
				}
			}
			if out.N > 0 {
				b.c.WriteBatch(out)
			}
			for i := range out.Frames[:out.N] {
				out.Frames[i] = nil
			}
			out.N = 0
		})
	}()
	defer func() {
		closeNodes(nodes)
		wg.Wait()
	}()

	if err := learn(nodes, &aSawB, &bSawA); err != nil {
		return nil, err
	}
	time.Sleep(20 * time.Millisecond)

	ping := frames.GetBatch()
	ping.Add(buildFrame(b.mac, a.mac, o.size, kindPing, a.idx))
	defer ping.Release()
	pp := ping.Frames[0].Bytes()

	rtts := make([]time.Duration, 0, o.count)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	total := o.warmup + o.count
	var lost int
	var again uint64
	var measured time.Duration
	var done atomic.Int64
	stop := progress(o.progress, time.Duration(total)*200*time.Microsecond, func(time.Duration) string {
		return fmt.Sprintf("pingpong: %d/%d round trips ", done.Load(), total)
	})
	var cpu cpuMeter
	cpu.pid = o.switchPID
	var mstart time.Time
	for i := 0; i < total; i++ {
		if i == o.warmup {
			cpu.start()
			mstart = time.Now()
		}
		seq := uint64(i + 1)
		cur.Store(seq)
		putU64(pp[offSeq:], seq)
		for {
			putU64(pp[offTime:], uint64(time.Since(base)))
			s, ag, _, err := sendBatch(a.c, ping)
			if err != nil {
				stop()
				return nil, fmt.Errorf("send: %w", err)
			}
			if s == 1 {
				pingsSent.Add(1)
				break
			}
			again += ag
			time.Sleep(time.Millisecond)
		}
		timer.Reset(pingTimeout)
	wait:
		for {
			select {
			case r := <-got:
				if r.seq != seq {
					continue
				}
				if i >= o.warmup {
					rtts = append(rtts, r.rtt)
				}
				break wait
			case <-timer.C:
				// An echo that arrived together with the timeout wins.
				select {
				case r := <-got:
					if r.seq == seq {
						if i >= o.warmup {
							rtts = append(rtts, r.rtt)
						}
						break wait
					}
				default:
				}
				if i >= o.warmup {
					lost++
				}
				break wait
			}
		}
		timer.Stop()
		done.Store(int64(i + 1))
	}
	measured = time.Since(mstart)
	swCPU, selfCPU := cpu.stop()
	stop()

	r := &pingPongResult{
		Mode: "pingpong", Size: o.size, Count: o.count, Warmup: o.warmup,
		ConnectMS: round(connect.Seconds()*1e3, 1), Lost: lost, SendEAGAIN: again,
		SwitchCPUPct: swCPU, LoadgenCPUPct: selfCPU,
	}
	time.Sleep(50 * time.Millisecond) // late pongs
	r.PingsSent, r.PingsAtB, r.PongsAtA = pingsSent.Load(), pingsAtB.Load(), pongsAtA.Load()
	if len(rtts) == 0 {
		return r, nil
	}
	slices.Sort(rtts)
	us := func(d time.Duration) float64 { return round(float64(d)/1e3, 1) }
	pct := func(q float64) float64 { return us(rtts[int(q*float64(len(rtts)-1)+0.5)]) }
	var sum time.Duration
	for _, d := range rtts {
		sum += d
	}
	r.MinUS = us(rtts[0])
	r.MeanUS = us(sum / time.Duration(len(rtts)))
	r.P50US, r.P90US, r.P99US = pct(0.50), pct(0.90), pct(0.99)
	r.MaxUS = us(rtts[len(rtts)-1])
	r.RoundTripsPS = round(float64(len(rtts)+lost)/measured.Seconds(), 0)
	return r, nil
}
