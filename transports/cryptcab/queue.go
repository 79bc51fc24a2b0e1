package cryptcab

import (
	"sync"

	"github.com/govde/govde/frames"
)

// queueFrames bounds the frames a session holds for its reader (memory:
// at most this many pooled buffers per session); more are dropped and
// counted (Stats.QueueFull).
const queueFrames = 1024

// frameQueue is a session's received frames between the engine's reader
// (put, once per received batch) and the session's ReadBatch (take). It
// holds one reference to each frame it holds.
type frameQueue struct {
	mu    sync.Mutex
	ring  [queueFrames]*frames.Buf
	head  int
	n     int
	ready chan struct{} // a token when frames were put; capacity 1
}

func (q *frameQueue) init() { q.ready = make(chan struct{}, 1) }

// put moves the frames of b into the queue (b is emptied, kept by the
// caller) and returns how many were dropped because the queue was full.
func (q *frameQueue) put(b *frames.Batch) (dropped int) {
	q.mu.Lock()
	for i, f := range b.Frames[:b.N] {
		b.Frames[i] = nil
		if q.n == queueFrames {
			f.Release()
			dropped++
			continue
		}
		q.ring[(q.head+q.n)%queueFrames] = f
		q.n++
	}
	b.N = 0
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return dropped
}

// take moves up to b's free space of frames into b and reports how many.
func (q *frameQueue) take(b *frames.Batch) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	got := 0
	for q.n > 0 && !b.Full() {
		b.Add(q.ring[q.head])
		q.ring[q.head] = nil
		q.head = (q.head + 1) % queueFrames
		q.n--
		got++
	}
	return got
}

// drain releases every frame held.
func (q *frameQueue) drain() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for ; q.n > 0; q.n-- {
		q.ring[q.head].Release()
		q.ring[q.head] = nil
		q.head = (q.head + 1) % queueFrames
	}
}
