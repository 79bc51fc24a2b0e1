package filter

import "github.com/govde/govde/frames"

// queued is one frame waiting in a delay queue.
type queued struct {
	due  int64 // monotonic ns since the wire started
	seq  uint64
	buf  *frames.Buf
	size int // frame length + 2, as wirefilter counts it
}

// delayQueue is a binary min-heap on (due, seq): the stage's one timer
// structure. Its backing array grows to the largest backlog seen and is
// then reused, so pushing and popping allocate nothing in steady state.
type delayQueue struct {
	h []queued
}

func (q *delayQueue) Len() int { return len(q.h) }

func less(a, b *queued) bool { return a.due < b.due || (a.due == b.due && a.seq < b.seq) }

// push adds e.
func (q *delayQueue) push(e queued) {
	q.h = append(q.h, e)
	i := len(q.h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !less(&q.h[i], &q.h[p]) {
			break
		}
		q.h[i], q.h[p] = q.h[p], q.h[i]
		i = p
	}
}

// peek returns the earliest entry; the queue must not be empty.
func (q *delayQueue) peek() *queued { return &q.h[0] }

// pop removes and returns the earliest entry; the queue must not be empty.
func (q *delayQueue) pop() queued {
	top := q.h[0]
	n := len(q.h) - 1
	q.h[0] = q.h[n]
	q.h[n] = queued{}
	q.h = q.h[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && less(&q.h[r], &q.h[l]) {
			m = r
		}
		if !less(&q.h[m], &q.h[i]) {
			break
		}
		q.h[i], q.h[m] = q.h[m], q.h[i]
		i = m
	}
	return top
}

// releaseAll releases every queued frame and empties the queue.
func (q *delayQueue) releaseAll() {
	for i := range q.h {
		q.h[i].buf.Release()
		q.h[i] = queued{}
	}
	q.h = q.h[:0]
}
