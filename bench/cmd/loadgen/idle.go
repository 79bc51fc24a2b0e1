package main

import (
	"fmt"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/govde/govde/frames"
)

// idleResult is the output of -mode idle: -clients clients that each sent
// one broadcast hello (so that the switch learned their MACs) and then only
// read, for -duration or until SIGTERM/SIGINT.
type idleResult struct {
	Mode      string  `json:"mode"`
	Clients   int     `json:"clients"`
	ConnectMS float64 `json:"connect_ms"`
	Seconds   float64 `json:"seconds"`
	// RxFrames counts every frame the idle clients received (broadcasts
	// included); IdleRx only the unicast data frames of a throughput test
	// (loadgen's or bench/clients'), which a switch that knows the
	// destination never sends to an idle port.
	RxFrames uint64 `json:"rx_frames"`
	IdleRx   uint64 `json:"idle_rx"`
	// Ended is "signal" or "duration".
	Ended string `json:"ended"`
}

// idleMACBase keeps the idle clients' MACs apart from the throughput
// clients' (nodeMAC(1), nodeMAC(2)) when both run on one switch.
const idleMACBase = 0x1000

func runIdle(o *options) (*idleResult, error) {
	if o.clients < 1 {
		return nil, fmt.Errorf("-clients must be at least 1")
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	t0 := time.Now()
	nodes, err := dialNodes(o.dir, o.clients)
	if err != nil {
		return nil, err
	}
	connect := time.Since(t0)
	for _, n := range nodes {
		n.mac = nodeMAC(idleMACBase + n.idx)
	}
	var rx, data atomic.Uint64
	var wg sync.WaitGroup
	wg.Add(len(nodes))
	for _, n := range nodes {
		go func() {
			defer wg.Done()
			n.recvLoop(func(bt *frames.Batch) {
				var k uint64
				for _, f := range bt.Slice() {
					if kindOf(f.Bytes()) == kindData {
						k++
					}
				}
				rx.Add(uint64(bt.N))
				if k > 0 {
					data.Add(k)
				}
			})
		}()
	}
	defer func() {
		closeNodes(nodes)
		wg.Wait()
	}()
	hello := frames.GetBatch()
	for _, n := range nodes {
		hello.Add(buildFrame(broadcast, n.mac, 64, kindHello, n.idx))
		err := n.c.WriteBatch(hello)
		hello.ReleaseFrames()
		if err != nil {
			hello.Release()
			return nil, fmt.Errorf("hello from client %d: %w", n.idx, err)
		}
	}
	hello.Release()
	time.Sleep(50 * time.Millisecond) // let the hellos settle
	if o.ready != "" {
		if err := os.WriteFile(o.ready, nil, 0o600); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	r := &idleResult{Mode: "idle", Clients: len(nodes), ConnectMS: round(connect.Seconds()*1e3, 1)}
	select {
	case <-sig:
		r.Ended = "signal"
	case <-time.After(o.duration):
		r.Ended = "duration"
	}
	r.Seconds = round(time.Since(start).Seconds(), 3)
	r.RxFrames, r.IdleRx = rx.Load(), data.Load()
	return r, nil
}
