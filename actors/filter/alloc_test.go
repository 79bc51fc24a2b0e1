package filter

import (
	"testing"
	"time"

	"github.com/govde/govde/frames"
)

// discard is a non-blocking endpoint that drops what it is given.
type discard struct{ n int }

func (d *discard) ReadBatch(*frames.Batch) error    { select {} }
func (d *discard) WriteBatch(b *frames.Batch) error { d.n += b.N; return nil }
func (d *discard) Close() error                     { return nil }
func (d *discard) Describe() string                 { return "discard" }
func (d *discard) WriteNeverBlocks() bool           { return true }

// bareStage is a stage outside any actor system, writing to a discard
// endpoint, for allocation tests and benchmarks of the frame path.
func bareStage(p Params) (*stage, *discard) {
	d := &discard{}
	s := &stage{
		w: &Wire{start: time.Now(), done: make(chan struct{})}, label: "LR", p: p, fifo: true,
		rng: newRNG(1, 0), maxQueue: DefaultMaxQueueBytes, dst: d, direct: true, maxInflight: 8,
		credits: make(chan struct{}, 1), tickMsg: &tick{}, writtenMsg: &written{},
	}
	s.armed = true // never start the timer (no actor system here)
	return s, d
}

var payload = frame(1, 1000)

// pass runs one batch of 64 frames through s and collects its credit.
func pass(s *stage, now int64) {
	b := frames.GetBatch()
	for i := 0; i < frames.BatchSize; i++ {
		b.Add(frames.GetCopy(payload))
	}
	s.input(b)
	<-s.credits
	if s.q.Len() > 0 {
		s.dequeue(now)
		s.flush()
	}
}

func TestNoAllocsPerFrame(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items on purpose under -race")
	}
	for name, p := range map[string]Params{
		"idle":  {},
		"loss":  params(map[Param]Value{Loss: {V: 30}, LostBurst: {V: 3}}),
		"dup":   params(map[Param]Value{Dup: {V: 20}, Noise: {V: 5000}}),
		"delay": params(map[Param]Value{Delay: {V: 1, Plus: 1}, Band: {V: 1e9}, ChanBufSize: {V: 1e9}, MTU: {V: 1600}}),
		"speed": params(map[Param]Value{Speed: {V: 1e12}}),
	} {
		s, d := bareStage(p)
		far := int64(1) << 60
		for i := 0; i < 100; i++ { // warm the pools and the heap
			pass(s, far)
		}
		if a := testing.AllocsPerRun(200, func() { pass(s, far) }); a != 0 {
			t.Errorf("%s: %.1f allocations per batch of 64 frames", name, a)
		}
		if d.n == 0 {
			t.Errorf("%s: nothing went through", name)
		}
	}
}

func BenchmarkStageIdle(b *testing.B)  { benchStage(b, Params{}) }
func BenchmarkStageDelay(b *testing.B) { benchStage(b, params(map[Param]Value{Delay: {V: 1}})) }

func benchStage(b *testing.B, p Params) {
	s, _ := bareStage(p)
	far := int64(1) << 60
	b.ReportAllocs()
	b.SetBytes(int64(frames.BatchSize * len(payload)))
	for i := 0; i < b.N; i++ {
		pass(s, far)
	}
}
