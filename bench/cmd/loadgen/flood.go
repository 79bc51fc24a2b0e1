package main

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/govde/govde/frames"
)

type floodResult struct {
	Mode          string  `json:"mode"`
	Clients       int     `json:"clients"`
	Size          int     `json:"size"`
	RatePerClient float64 `json:"rate_per_client"`
	Seconds       float64 `json:"seconds"`
	ConnectMS     float64 `json:"connect_ms"`
	Sent          uint64  `json:"sent"`
	SendEAGAIN    uint64  `json:"send_eagain"`
	SendErrors    uint64  `json:"send_errors"`
	// Expected is what a perfect switch delivers: every broadcast to every
	// other client. Delivered is what the clients received.
	Expected     uint64  `json:"expected"`
	Delivered    uint64  `json:"delivered"`
	DeliveredFPS float64 `json:"delivered_fps"`
	LossPct      float64 `json:"loss_pct"`
	// Per-client received frames, and received/expected per client (the
	// starvation check: a fair switch keeps RxRatioMin close to the median).
	RxMin         uint64  `json:"rx_min"`
	RxMedian      uint64  `json:"rx_median"`
	RxMax         uint64  `json:"rx_max"`
	RxRatioMin    float64 `json:"rx_ratio_min"`
	RxRatioMedian float64 `json:"rx_ratio_median"`
	// RxMinOverMedian = RxMin / RxMedian.
	RxMinOverMedian float64 `json:"rx_min_over_median"`
	// Starved counts clients that received less than half what they should.
	Starved int `json:"starved"`
	// Per-client broadcasts sent (the switch reading every port fairly
	// keeps SentMin close to the median at a fixed rate).
	SentMin    uint64 `json:"sent_min"`
	SentMedian uint64 `json:"sent_median"`
	SentMax    uint64 `json:"sent_max"`
	// Per-client deliveries of its own broadcasts (copies that reached the
	// other clients, counted by the receivers from the sender index in the
	// frame), and delivered/expected per sender (expected = its broadcasts
	// x the other clients): a port whose input the switch neglects shows a
	// low minimum here.
	TxDeliveredMin    uint64  `json:"tx_delivered_min"`
	TxDeliveredMedian uint64  `json:"tx_delivered_median"`
	TxDeliveredMax    uint64  `json:"tx_delivered_max"`
	TxMinOverMedian   float64 `json:"tx_min_over_median"`
	TxRatioMin        float64 `json:"tx_ratio_min"`
	TxRatioMedian     float64 `json:"tx_ratio_median"`
	SwitchCPUPct      float64 `json:"switch_cpu_pct"`
	LoadgenCPUPct     float64 `json:"loadgen_cpu_pct"`
}

type floodCounters struct {
	rx, sent, again, errs atomic.Uint64
	_                     [32]byte // keep hot counters of neighbours apart
}

func runFlood(o *options) (*floodResult, error) {
	if o.clients < 2 {
		return nil, fmt.Errorf("-clients must be at least 2")
	}
	t0 := time.Now()
	nodes, err := dialNodes(o.dir, o.clients)
	if err != nil {
		return nil, err
	}
	connect := time.Since(t0)
	cnt := make([]floodCounters, len(nodes))
	// from[i][j]: broadcasts of client j that client i received (each row
	// written by one receiver only).
	from := make([][]atomic.Uint64, len(nodes))
	for i := range from {
		from[i] = make([]atomic.Uint64, len(nodes))
	}
	var wg sync.WaitGroup
	wg.Add(len(nodes))
	for i, n := range nodes {
		go func() {
			defer wg.Done()
			c := &cnt[i]
			row := from[i]
			n.recvLoop(func(bt *frames.Batch) {
				var k uint64
				for _, f := range bt.Slice() {
					p := f.Bytes()
					if kindOf(p) == kindFlood {
						k++
						if s := getU32(p[offSender:]); int(s) < len(row) {
							row[s].Add(1)
						}
					}
				}
				if k > 0 {
					c.rx.Add(k)
				}
			})
		}()
	}
	defer func() {
		closeNodes(nodes)
		wg.Wait()
	}()
	totalRx := func() uint64 {
		var t uint64
		for i := range cnt {
			t += cnt[i].rx.Load()
		}
		return t
	}
	totalSent := func() uint64 {
		var t uint64
		for i := range cnt {
			t += cnt[i].sent.Load()
		}
		return t
	}

	period := time.Duration(float64(time.Second) / o.rate)
	startCh := make(chan struct{})
	var start time.Time
	end := make(chan struct{})
	var swg sync.WaitGroup
	swg.Add(len(nodes))
	for i, n := range nodes {
		go func() {
			defer swg.Done()
			b := frames.GetBatch()
			b.Add(buildFrame(broadcast, n.mac, o.size, kindFlood, n.idx))
			defer b.Release()
			c := &cnt[i]
			<-startCh
			// Spread the clients evenly over one period.
			next := start.Add(period * time.Duration(i) / time.Duration(len(nodes)))
			var seq uint64
			tm := time.NewTimer(time.Hour)
			defer tm.Stop()
			for {
				if d := time.Until(next); d > 0 {
					tm.Reset(d)
					select {
					case <-end:
						return
					case <-tm.C:
					}
				}
				select {
				case <-end:
					return
				default:
				}
				seq++
				putU64(b.Frames[0].Bytes()[offSeq:], seq)
				s, ag, e, err := sendBatch(n.c, b)
				if err != nil {
					return
				}
				c.sent.Add(s)
				c.again.Add(ag)
				c.errs.Add(e)
				next = next.Add(period)
			}
		}()
	}
	stop := progress(o.progress, o.duration, func(el time.Duration) string {
		s := el.Seconds()
		return fmt.Sprintf("flood %d clients: %.0f/%.0f s  sent %d  delivered %.0f fps ",
			len(nodes), s, o.duration.Seconds(), totalSent(), float64(totalRx())/s)
	})
	var cpu cpuMeter
	cpu.pid = o.switchPID
	cpu.start()
	start = time.Now()
	close(startCh)
	time.Sleep(o.duration)
	close(end)
	swg.Wait()
	secs := time.Since(start).Seconds()
	waitQuiet(o.drain, o.drain+2*time.Second, totalRx)
	swCPU, selfCPU := cpu.stop()
	stop()

	r := &floodResult{
		Mode: "flood", Clients: len(nodes), Size: o.size, RatePerClient: o.rate,
		Seconds: round(secs, 3), ConnectMS: round(connect.Seconds()*1e3, 1),
		SwitchCPUPct: swCPU, LoadgenCPUPct: selfCPU,
	}
	rx := make([]uint64, len(nodes))
	ratios := make([]float64, len(nodes))
	sent := totalSent()
	r.SentMin = ^uint64(0)
	for i := range cnt {
		c := &cnt[i]
		s := c.sent.Load()
		r.Sent += s
		r.SendEAGAIN += c.again.Load()
		r.SendErrors += c.errs.Load()
		r.SentMin = min(r.SentMin, s)
		r.SentMax = max(r.SentMax, s)
		rx[i] = c.rx.Load()
		exp := sent - s
		r.Expected += exp
		r.Delivered += rx[i]
		if exp > 0 {
			ratios[i] = float64(rx[i]) / float64(exp)
		}
		if ratios[i] < 0.5 {
			r.Starved++
		}
	}
	slices.Sort(rx)
	slices.Sort(ratios)
	r.RxMin, r.RxMedian, r.RxMax = rx[0], rx[len(rx)/2], rx[len(rx)-1]
	r.RxRatioMin, r.RxRatioMedian = round(ratios[0], 4), round(ratios[len(ratios)/2], 4)
	if r.RxMedian > 0 {
		r.RxMinOverMedian = round(float64(r.RxMin)/float64(r.RxMedian), 4)
	}
	// Per sender: sent, and copies delivered to the others.
	sentPer := make([]uint64, len(nodes))
	txDel := make([]uint64, len(nodes))
	txRatio := make([]float64, len(nodes))
	for j := range nodes {
		sentPer[j] = cnt[j].sent.Load()
		for i := range nodes {
			txDel[j] += from[i][j].Load()
		}
		if exp := sentPer[j] * uint64(len(nodes)-1); exp > 0 {
			txRatio[j] = float64(txDel[j]) / float64(exp)
		}
	}
	slices.Sort(sentPer)
	slices.Sort(txDel)
	slices.Sort(txRatio)
	mid := len(nodes) / 2
	r.SentMedian = sentPer[mid]
	r.TxDeliveredMin, r.TxDeliveredMedian, r.TxDeliveredMax = txDel[0], txDel[mid], txDel[len(txDel)-1]
	if r.TxDeliveredMedian > 0 {
		r.TxMinOverMedian = round(float64(r.TxDeliveredMin)/float64(r.TxDeliveredMedian), 4)
	}
	r.TxRatioMin, r.TxRatioMedian = round(txRatio[0], 4), round(txRatio[mid], 4)
	r.DeliveredFPS = round(float64(r.Delivered)/secs, 0)
	if r.Expected > 0 {
		r.LossPct = round(100*(1-float64(r.Delivered)/float64(r.Expected)), 3)
	}
	return r, nil
}
