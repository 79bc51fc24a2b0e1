package stream

import "time"

// logInterval is the minimum time between two diagnostic lines of one
// endpoint.
const logInterval = time.Second

// rateLog lets through at most one line per logInterval and counts the
// lines it held back. It is used by one goroutine only.
type rateLog struct {
	last       time.Time
	suppressed int
	now        func() time.Time // nil means time.Now; tests replace it
}

// allow reports whether a line may be logged now, and if so how many were
// suppressed since the last one.
func (l *rateLog) allow() (ok bool, suppressed int) {
	now := time.Now
	if l.now != nil {
		now = l.now
	}
	t := now()
	if !l.last.IsZero() && t.Sub(l.last) < logInterval {
		l.suppressed++
		return false, 0
	}
	l.last = t
	suppressed, l.suppressed = l.suppressed, 0
	return true, suppressed
}
