package filter

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
)

// Messages a stage actor understands besides *frames.Batch (input frames).
type (
	// tick is sent by the stage's timer: due frames are ready, or a
	// withheld input credit may be returned.
	tick struct{}
	// written is sent by the egress writer after each batch it wrote.
	written struct{}
	// inputEnded is sent by the reader after its last batch (EOF).
	inputEnded struct{}
	// configure replaces the stage's parameters; answered with *configured.
	configure struct {
		p    Params
		fifo bool
	}
	configured struct{}
	// statsRequest is answered with a *Stats.
	statsRequest struct{}
)

// Stats are a stage's counters and queue state.
type Stats struct {
	In, Out     uint64 // frames received; frames sent (duplicates included)
	DropMTU     uint64 // longer than the MTU
	DropLoss    uint64 // lost (total, Bernoulli or Gilbert)
	DropChanBuf uint64 // the channel buffer was full
	DropRate    uint64 // speed or bandwidth sampled ≤ 0
	Dups        uint64 // extra copies made
	NoiseFlips  uint64 // bits flipped (inside or just past the frame)
	BlinkDrops  uint64 // blink datagrams the socket could not take
	// QueuedFrames and QueuedBytes describe the delay queue now; bytes
	// count frame length + 2, as the original's "Current Delay Queue size".
	QueuedFrames, QueuedBytes int
}

const (
	// maxCopies caps the copies of one frame: the original loops forever
	// at dup 100%.
	maxCopies = 64
	// maxDelayNs caps one frame's delay (about 104 days), so huge or
	// sampled-out values cannot overflow the clock.
	maxDelayNs = int64(1) << 53
	// speedSlack is how far ahead of the speed limit the reader may run:
	// the reader waits while the interface is busy for more than this. It
	// absorbs timer latency (a late wake-up would otherwise lower the
	// rate, as the original's millisecond poll timeouts do).
	speedSlack = int64(5 * time.Millisecond)
)

// stage is the wirefilter actor of one direction: batch in, batch out. It
// applies the per-packet pipeline, keeps delayed frames in one heap with one
// timer, and paces its reader with credits: a credit goes back to the
// reader when a batch is handled, unless the speed limit, a full egress or
// a full delay queue says to wait, in which case it is returned later.
type stage struct {
	w     *Wire
	dir   Dir
	label string // LR, RL, or -- when monodirectional (blink)
	self  *actor.PID

	p    Params
	fifo bool
	rng  rng

	faulty    bool // Gilbert state
	nextBand  int64
	nextSpeed int64
	maxWhen   int64
	seq       uint64

	q           delayQueue
	queuedBytes int
	maxQueue    int

	dst         transports.Endpoint
	direct      bool // dst never blocks: write from the actor
	egress      chan *frames.Batch
	inflight    int
	maxInflight int
	pending     []*frames.Batch
	pendHead    int
	cur         *frames.Batch

	credits chan struct{}
	owed    int

	timer       *time.Timer
	armed       bool
	armedAt     int64
	tickPending atomic.Bool
	tickMsg     *tick
	writtenMsg  *written

	blink    *Blink
	blinkMsg []byte
	eof      bool
	stopped  bool

	st      Stats
	scratch [frames.BatchSize]*frames.Buf
}

func (s *stage) now() int64 { return int64(time.Since(s.w.start)) }

// Receive implements actor.Actor.
func (s *stage) Receive(ctx actor.Context) {
	if s.stopped {
		switch m := ctx.Message().(type) {
		case *frames.Batch:
			m.Release()
		case *configure:
			ctx.Respond(&configured{})
		case *statsRequest:
			ctx.Respond(&Stats{})
		}
		return
	}
	switch m := ctx.Message().(type) {
	case *frames.Batch:
		s.input(m)
	case *tick:
		s.tickPending.Store(false)
		s.armed = false
		now := s.now()
		s.dequeue(now)
		s.flush()
		s.releaseCredits(now)
		s.arm(now)
	case *written:
		s.inflight--
		s.drainPending()
		s.releaseCredits(s.now())
		s.checkDrained()
	case *inputEnded:
		s.eof = true
		s.flush()
		s.checkDrained()
	case *configure:
		s.p, s.fifo = m.p, m.fifo
		if s.p[LostBurst].Max() <= 0 {
			s.faulty = false
		}
		now := s.now()
		s.releaseCredits(now)
		s.arm(now)
		ctx.Respond(&configured{})
	case *statsRequest:
		st := s.st
		st.QueuedFrames, st.QueuedBytes = s.q.Len(), s.queuedBytes
		ctx.Respond(&st)
	case *actor.Stopping:
		s.stop()
	}
}

// input handles one batch from the reader.
func (s *stage) input(b *frames.Batch) {
	n := copy(s.scratch[:], b.Frames[:b.N])
	b.Recycle()
	now := s.now()
	s.st.In += uint64(n)
	for i := 0; i < n; i++ {
		f := s.scratch[i]
		s.scratch[i] = nil
		s.handle(f, now)
	}
	s.flush()
	s.owed++
	s.releaseCredits(now)
	s.arm(now)
}

// handle runs the per-packet pipeline of the original, in its order: MTU,
// loss (Gilbert model when lostburst is set), dup; then for each copy the
// channel buffer, speed, bandwidth and delay; then the queue or the output.
// It takes over f's reference.
func (s *stage) handle(f *frames.Buf, now int64) {
	p := &s.p
	size := f.Len() + 2
	if m := p[MTU].Min(); m > 0 && float64(size) > m {
		s.st.DropMTU++
		f.Release()
		return
	}
	if p[Loss].Min() >= 100 {
		s.st.DropLoss++
		f.Release()
		return
	}
	if p[LostBurst].Max() > 0 {
		lv := s.rng.sample(p[Loss]) / 100
		burst := s.rng.sample(p[LostBurst])
		alpha := lv / (burst * (1 - lv))
		beta := 1 / burst
		if !s.faulty {
			if s.rng.float() < alpha {
				s.faulty = true
			}
		} else if s.rng.float() < beta {
			s.faulty = false
		}
		if s.faulty {
			s.st.DropLoss++
			f.Release()
			return
		}
	} else {
		s.faulty = false
		if p[Loss].Max() > 0 {
			lv := s.rng.sample(p[Loss]) / 100
			if s.rng.float() < lv {
				s.st.DropLoss++
				f.Release()
				return
			}
		}
	}
	times := 1
	if p[Dup].Max() > 0 {
		dv := s.rng.sample(p[Dup]) / 100
		for times < maxCopies && s.rng.float() < dv {
			times++
		}
		s.st.Dups += uint64(times - 1)
	}
	for i := 0; i < times; i++ {
		last := i == times-1
		if !last {
			f.Retain(1) // one reference for this copy, ours for the next
		}
		if !s.schedule(f, size, now) {
			if !last {
				f.Release() // the remaining copies go with this one
			}
			return
		}
	}
}

// schedule applies the channel buffer, speed, bandwidth and delay to one
// copy and queues or sends it. It takes over one reference of f and
// reports false when it dropped the copy.
func (s *stage) schedule(f *frames.Buf, size int, now int64) bool {
	p := &s.p
	if p[ChanBufSize].Max() > 0 {
		if float64(s.queuedBytes+size) > s.rng.sample(p[ChanBufSize]) {
			s.st.DropChanBuf++
			f.Release()
			return false
		}
	}
	var bandDelay int64
	if p[Speed].Max() > 0 {
		sv := s.rng.sample(p[Speed])
		if sv <= 0 {
			s.st.DropRate++
			f.Release()
			return false
		}
		t := commTime(size, sv)
		bandDelay = t
		if now > s.nextSpeed {
			s.nextSpeed = now
		}
		s.nextSpeed = addClamp(s.nextSpeed, t)
	}
	if p[Band].Max() > 0 {
		bv := s.rng.sample(p[Band])
		if bv <= 0 {
			s.st.DropRate++
			f.Release()
			return false
		}
		t := commTime(size, bv)
		if now > s.nextBand {
			s.nextBand = now
			bandDelay = t
		} else {
			bandDelay = addClamp(s.nextBand-now, t)
		}
		s.nextBand = addClamp(s.nextBand, t)
	}
	if bandDelay > 0 || p[Delay].Max() > 0 {
		d := s.rng.sample(p[Delay])
		del := bandDelay
		if d >= 0 {
			del = addClamp(msToNs(d), bandDelay)
		}
		if del > 0 {
			s.enqueue(f, size, addClamp(now, del))
			return true
		}
	}
	if s.fifo && s.q.Len() > 0 {
		// FIFO: never overtake a frame of this direction still queued.
		s.enqueue(f, size, now)
		return true
	}
	s.transmit(f, size)
	return true
}

// commTime is the time to move size bytes at rate bytes/s, in ns.
func commTime(size int, rate float64) int64 {
	t := float64(size) * 1e9 / rate
	if t >= float64(maxDelayNs) || math.IsNaN(t) {
		return maxDelayNs
	}
	return int64(t)
}

func msToNs(ms float64) int64 {
	t := ms * 1e6
	if t >= float64(maxDelayNs) {
		return maxDelayNs
	}
	return int64(t)
}

func addClamp(a, b int64) int64 {
	if b > math.MaxInt64-a {
		return math.MaxInt64
	}
	return a + b
}

// enqueue puts f in the delay queue, due at due (raised to the latest due
// time already queued in FIFO mode, so nothing is reordered).
func (s *stage) enqueue(f *frames.Buf, size int, due int64) {
	if due > s.maxWhen {
		s.maxWhen = due
	} else if s.fifo {
		due = s.maxWhen
	}
	s.seq++
	s.q.push(queued{due: due, seq: s.seq, buf: f, size: size})
	s.queuedBytes += size
}

// dequeue sends every queued frame due by now.
func (s *stage) dequeue(now int64) {
	for s.q.Len() > 0 && s.q.peek().due <= now {
		e := s.q.pop()
		s.queuedBytes -= e.size
		s.transmit(e.buf, e.size)
	}
}

// transmit applies noise and blink and appends f to the output batch,
// taking over its reference.
func (s *stage) transmit(f *frames.Buf, size int) {
	if s.p[Noise].Max() > 0 {
		f = s.noise(f, size)
	}
	if s.blink != nil {
		s.blinkMsg = s.blink.appendMsg(s.blinkMsg[:0], s.label, size)
		if !s.blink.send(s.blinkMsg) {
			s.st.BlinkDrops++
		}
	}
	if s.cur == nil {
		s.cur = frames.GetBatch()
	}
	s.cur.Add(f)
	s.st.Out++
	if s.cur.Full() {
		s.emit(s.cur)
		s.cur = nil
	}
}

// noise flips bits: noise is in bits per MiB, so each flip happens with
// probability p = (size-2)·noise/2^20 and the number of flips is the run of
// successes. Unlike the original, which spins forever when p ≥ 1, the run
// stops at one flip per bit of the packet. Each flip hits a random bit of
// the packet's size·8 (the last 16 fall past the frame, as in the
// original, and change nothing). A shared frame is copied first.
func (s *stage) noise(f *frames.Buf, size int) *frames.Buf {
	p := float64(size-2) * s.rng.sample(s.p[Noise]) / (1 << 20)
	if !(p > 0) {
		return f
	}
	limit := size * 8
	flips := 0
	for flips < limit && s.rng.float() < p {
		flips++
	}
	if flips == 0 {
		return f
	}
	if f.Shared() {
		c := f.Clone()
		f.Release()
		f = c
	}
	b := f.Bytes()
	s.st.NoiseFlips += uint64(flips)
	for ; flips > 0; flips-- {
		bit := s.rng.intn(limit)
		if i := bit >> 3; i < len(b) {
			b[i] ^= 1 << (bit & 7)
		}
	}
	return f
}

// flush sends the partly filled output batch.
func (s *stage) flush() {
	if s.cur != nil && s.cur.N > 0 {
		s.emit(s.cur)
		s.cur = nil
	}
}

// emit hands b to the destination: written at once when it never blocks,
// else to the writer goroutine while fewer than maxInflight batches are
// there, else kept in order in pending.
func (s *stage) emit(b *frames.Batch) {
	if s.direct {
		err := s.dst.WriteBatch(b)
		b.Release()
		if err != nil {
			s.w.fail(err)
		}
		return
	}
	if s.inflight < s.maxInflight && s.pendHead == len(s.pending) {
		s.inflight++
		s.egress <- b // never blocks: cap(egress) == maxInflight
		return
	}
	s.pending = append(s.pending, b)
}

func (s *stage) drainPending() {
	for s.inflight < s.maxInflight && s.pendHead < len(s.pending) {
		b := s.pending[s.pendHead]
		s.pending[s.pendHead] = nil
		s.pendHead++
		s.inflight++
		s.egress <- b
	}
	if s.pendHead == len(s.pending) {
		s.pending, s.pendHead = s.pending[:0], 0
	}
}

// blocked reports why the reader must wait: the speed limit has not caught
// up, the egress is backed up, or the delay queue is full.
func (s *stage) blocked(now int64) bool {
	return (s.p[Speed].Max() > 0 && s.nextSpeed-now > speedSlack) ||
		s.pendHead < len(s.pending) ||
		s.queuedBytes > s.maxQueue
}

// releaseCredits returns the withheld reader credits unless blocked.
func (s *stage) releaseCredits(now int64) {
	if s.owed == 0 || s.blocked(now) {
		return
	}
	for ; s.owed > 0; s.owed-- {
		s.credits <- struct{}{} // never blocks: at most cap(credits) exist
	}
}

// arm sets the stage's timer for the earliest of the next due frame and,
// while credits are withheld for the speed limit, the end of that wait.
func (s *stage) arm(now int64) {
	at := int64(math.MaxInt64)
	if s.q.Len() > 0 {
		at = s.q.peek().due
	}
	if s.owed > 0 && s.p[Speed].Max() > 0 && s.nextSpeed-now > speedSlack && s.nextSpeed-speedSlack < at {
		at = s.nextSpeed - speedSlack
	}
	if at == math.MaxInt64 || (s.armed && s.armedAt <= at) {
		return
	}
	s.armed, s.armedAt = true, at
	d := time.Duration(at - now)
	if d < 0 {
		d = 0
	}
	if s.timer == nil {
		s.timer = time.AfterFunc(d, s.fire)
		return
	}
	s.timer.Reset(d)
}

// fire runs on the timer's goroutine: at most one tick is in flight.
func (s *stage) fire() {
	if s.tickPending.CompareAndSwap(false, true) {
		s.w.sys.Root.Send(s.self, s.tickMsg)
	}
}

// checkDrained tells the wire when the input has ended and every frame
// handled before the end has been written. Frames still in the delay
// queue are dropped, as the original exits at once.
func (s *stage) checkDrained() {
	if s.eof && s.inflight == 0 && s.pendHead == len(s.pending) && (s.cur == nil || s.cur.N == 0) {
		s.w.directionDone()
	}
}

// stop releases everything the stage holds.
func (s *stage) stop() {
	s.stopped = true
	if s.timer != nil {
		s.timer.Stop()
	}
	s.q.releaseAll()
	s.queuedBytes = 0
	if s.cur != nil {
		s.cur.Release()
		s.cur = nil
	}
	for _, b := range s.pending[s.pendHead:] {
		b.Release()
	}
	s.pending, s.pendHead = nil, 0
	if s.egress != nil {
		close(s.egress)
	}
}
