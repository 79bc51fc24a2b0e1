package stream

import (
	"errors"
	"io"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
)

// errInvalidRead reports a Reader that returned an impossible count.
var errInvalidRead = errors.New("stream: Read returned an invalid count")

// maxZeroReads is how many consecutive (0, nil) Reads ReadBatch tolerates
// before giving up with io.ErrNoProgress, as io.ReadAtLeast does.
const maxZeroReads = 100

// readState is the parser state. Only the goroutine calling ReadBatch
// touches it.
type readState struct {
	buf      []byte // ReadBufSize bytes, allocated once
	pos, end int    // unparsed input is buf[pos:end]

	hdrHalf bool // the first byte of a length header is in hdr
	hdr     byte

	want int         // body bytes of the current record still to come
	cur  *frames.Buf // where they go; nil while skipping a runt
	have int         // body bytes already in cur

	err error // sticky error from the reader, reported once buffered frames are out
	log rateLog
}

// ReadBatch implements transports.Endpoint. It blocks until at least one
// complete frame is available, then appends every complete frame already
// buffered (up to b's free space) to b; each appended frame is a new buffer
// from the frames pools whose reference passes to b. Parsed data that does
// not fit in b stays buffered for the next call. A full b returns nil at
// once.
//
// It issues one Read of at most ReadBufSize bytes whenever the buffered
// input holds no complete frame. Frames shorter than frames.MinFrame are
// dropped and counted; length-0 records are skipped; a length above
// MaxFrame is logged, counted, and everything buffered is discarded (the
// next Read starts afresh). It returns io.EOF (or the reader's error) once
// the input is exhausted, after every complete frame before it has been
// returned (an unfinished frame at the end is dropped and counted), and
// transports.ErrClosed after Close.
func (e *Endpoint) ReadBatch(b *frames.Batch) error {
	rs := &e.rd
	if e.closed.Load() {
		rs.dropPartial()
		return transports.ErrClosed
	}
	if b.Full() {
		return nil
	}
	n0 := b.N
	zeroReads := 0
	for {
		e.parse(b)
		if b.N > n0 {
			return nil
		}
		// Everything buffered is consumed and no frame is complete.
		if rs.err != nil {
			if rs.dropPartial() {
				e.rxTruncated.Add(1)
			}
			return rs.err
		}
		n, err := e.r.Read(rs.buf)
		if e.closed.Load() {
			rs.dropPartial()
			return transports.ErrClosed
		}
		if n < 0 || n > len(rs.buf) {
			n, err = 0, errInvalidRead
		}
		rs.pos, rs.end = 0, n
		switch {
		case err != nil:
			rs.err = err
		case n == 0:
			if zeroReads++; zeroReads >= maxZeroReads {
				rs.err = io.ErrNoProgress
			}
		default:
			zeroReads = 0
		}
	}
}

// parse consumes rs.buf[rs.pos:rs.end], appending complete frames to b,
// until b is full or the buffered input is exhausted.
func (e *Endpoint) parse(b *frames.Batch) {
	rs := &e.rd
	for !b.Full() && rs.pos < rs.end {
		data := rs.buf[rs.pos:rs.end]

		// In the middle of a record body: complete or skip it.
		if rs.want > 0 {
			n := min(rs.want, len(data))
			if rs.cur != nil {
				copy(rs.cur.Space()[rs.have:], data[:n])
				rs.have += n
			}
			rs.want -= n
			rs.pos += n
			if rs.want == 0 && rs.cur != nil {
				rs.cur.SetLen(rs.have)
				b.Add(rs.cur)
				rs.cur = nil
			}
			continue
		}

		// A length header, possibly completing one split by the last read.
		var l int
		switch {
		case rs.hdrHalf:
			l = int(rs.hdr)<<8 | int(data[0])
			rs.hdrHalf = false
			rs.pos++
		case len(data) == 1:
			rs.hdr = data[0]
			rs.hdrHalf = true
			rs.pos++
			return
		default:
			l = int(data[0])<<8 | int(data[1])
			rs.pos += 2
		}

		switch {
		case l == 0:
			// vdestream skips empty records.
		case l > e.maxFrame:
			e.rxOversize.Add(1)
			discarded := rs.end - rs.pos
			rs.pos = rs.end
			e.logOversize(l, discarded)
		case l < frames.MinFrame:
			e.rxRunts.Add(1)
			rs.want = l // skip the body, wherever it ends
		case rs.end-rs.pos >= l:
			// Fast path: the whole frame is buffered.
			f := frames.Get(l)
			copy(f.Space(), rs.buf[rs.pos:rs.pos+l])
			f.SetLen(l)
			b.Add(f)
			rs.pos += l
		default:
			rs.cur = frames.Get(l)
			rs.have = 0
			rs.want = l
		}
	}
}

// dropPartial forgets the buffered input, an unfinished record and a
// half-read header. It reports whether a frame was being assembled.
func (rs *readState) dropPartial() (dropped bool) {
	if rs.cur != nil {
		rs.cur.Release()
		rs.cur = nil
		dropped = true
	}
	rs.want, rs.have = 0, 0
	rs.hdrHalf = false
	rs.pos, rs.end = 0, 0
	return dropped
}

// logOversize reports a bad length header through Options.Logf, rate limited.
func (e *Endpoint) logOversize(length, discarded int) {
	if e.logf == nil {
		return
	}
	ok, suppressed := e.rd.log.allow()
	if !ok {
		return
	}
	if suppressed > 0 {
		e.logf("%s: packet length error: length %d exceeds the maximum %d, %d buffered bytes discarded (%d similar errors not logged)",
			e.describe, length, e.maxFrame, discarded, suppressed)
		return
	}
	e.logf("%s: packet length error: length %d exceeds the maximum %d, %d buffered bytes discarded",
		e.describe, length, e.maxFrame, discarded)
}
