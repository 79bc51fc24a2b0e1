// Package dgram is govde's batched datagram I/O: a Conn wraps one
// non-blocking datagram socket (unix SOCK_DGRAM today, UDP later) that is
// registered with Go's netpoller, and moves whole frames.Batch values with one
// recvmmsg / sendmmsg system call each.
//
// It is the hot path of every vde2 endpoint, so a Conn allocates nothing per
// frame or per batch in steady state: the mmsghdr and iovec arrays are
// preallocated (one set for reading, one for writing), and receive buffers are
// taken from the frames pools into a per-Conn slot array where they wait for
// data between calls.
//
// Semantics (those of vde_switch's data sockets):
//
//   - Reading: datagrams longer than the Conn's MaxFrame are truncated to
//     MaxFrame (vde_switch truncates at 1518); datagrams shorter than
//     frames.MinFrame are ignored and counted, zero-length ones are reported
//     through Config.OnEmpty.
//   - Writing never blocks: what the socket cannot take now (EAGAIN) is
//     dropped and counted; other send errors (ECONNREFUSED, ENOTCONN after
//     the peer closed its socket) are counted and reported, rate-limited,
//     through Config.OnWriteError, and do not close the Conn.
package dgram

import (
	"time"
)

// DefaultMaxFrame is the truncation length of vde_switch's data sockets: a
// 1518-byte Ethernet frame without FCS.
const DefaultMaxFrame = 1518

// DefaultErrorInterval is the shortest time between two reports through
// Config.OnWriteError or Config.OnEmpty.
const DefaultErrorInterval = time.Second

// Config configures a Conn. The zero value is usable.
type Config struct {
	// MaxFrame is the largest datagram ReadBatch returns; longer datagrams
	// are truncated to it. 0 means DefaultMaxFrame; values above
	// frames.MaxJumbo are clamped.
	MaxFrame int
	// Descr is what Describe returns.
	Descr string
	// OnWriteError, when set, is told about send errors other than EAGAIN
	// (which is a silent, counted drop). It is called at most once per
	// ErrorInterval; suppressed is the number of failed frames not reported
	// since the previous call. It runs on the goroutine calling WriteBatch,
	// must not block and must not call WriteBatch.
	OnWriteError func(err error, suppressed uint64)
	// OnEmpty, when set, is told about zero-length datagrams (which are
	// otherwise ignored), at most once per ErrorInterval, with the number of
	// empty datagrams not reported since the previous call. It runs on the
	// goroutine calling ReadBatch, must not block and must not call
	// ReadBatch.
	OnEmpty func(suppressed uint64)
	// ErrorInterval rate-limits OnWriteError and OnEmpty; 0 means
	// DefaultErrorInterval.
	ErrorInterval time.Duration
	// SendBuffer, when > 0, is the SO_SNDBUF New asks for (bytes, before
	// the kernel doubles it): with SO_SNDBUFFORCE when the process may
	// (CAP_NET_ADMIN), else with SO_SNDBUF, which the kernel caps at
	// net.core.wmem_max. On a connected unix datagram socket it bounds
	// what waits in the peer's receive queue, so a larger one lets a
	// writer run ahead of a briefly descheduled reader instead of stalling
	// on EAGAIN (see DataSendBuffer). Best effort: a refusal leaves the
	// default.
	SendBuffer int
}

// DataSendBuffer is the SendBuffer of vde2 data sockets (switch ports and
// clients): 1 MiB, which the kernel doubles; at the default (208 KiB) a
// 64-byte stream of frames fills a client's queue at about 270 frames and
// the writer waits for it to drain to a quarter, one context switch per
// few hundred frames with the processes sharing two CPUs (ARCHITECTURE.md,
// pacing). Only what a slow reader leaves unread is ever allocated.
const DataSendBuffer = 1 << 20

// Stats are a Conn's counters since creation.
type Stats struct {
	// ReadFrames and ReadBytes count frames returned by ReadBatch (after
	// truncation).
	ReadFrames, ReadBytes uint64
	// Truncated counts datagrams longer than MaxFrame (returned truncated,
	// also counted in ReadFrames).
	Truncated uint64
	// Runts counts ignored datagrams of 1..frames.MinFrame-1 bytes.
	Runts uint64
	// Empty counts ignored zero-length datagrams.
	Empty uint64
	// WriteFrames and WriteBytes count frames the kernel accepted.
	WriteFrames, WriteBytes uint64
	// WriteAgain counts frames dropped because the socket could not take
	// them (EAGAIN).
	WriteAgain uint64
	// WriteErrors counts frames dropped because of any other send error.
	WriteErrors uint64
}

// rateLimiter lets one report through per interval and counts the rest.
// It is used from a single goroutine at a time (the reader or the writer,
// each serialised by its own mutex).
type rateLimiter struct {
	interval   time.Duration
	last       time.Time
	suppressed uint64
}

// allow reports whether a report may be made now; if so it returns the
// number of events suppressed since the previous report.
func (r *rateLimiter) allow(now time.Time, events uint64) (bool, uint64) {
	if !r.last.IsZero() && now.Sub(r.last) < r.interval {
		r.suppressed += events
		return false, 0
	}
	s := r.suppressed + events - 1
	r.suppressed = 0
	r.last = now
	return true, s
}
