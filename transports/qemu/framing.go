package qemu

import (
	"fmt"

	"github.com/govde/govde/frames"
)

// HeaderLen is the length of the frame header on a QEMU stream: the frame
// length as a 32-bit big-endian number (QEMU's net/stream.c, and the older
// -netdev socket,connect=/listen=).
const HeaderLen = 4

// ReadBufSize is the most one read asks from the connection.
const ReadBufSize = 128 << 10

// WriteBufSize is the size of the write buffer: a batch of standard frames
// fits, so it costs one write.
const WriteBufSize = 128 << 10

// ProtocolError reports a length header the endpoint cannot accept. QEMU
// closes the connection in that case (the stream cannot be trusted any
// more); so does the endpoint.
type ProtocolError struct {
	Length, Max int
}

// Error says which length was refused.
func (e *ProtocolError) Error() string {
	return fmt.Sprintf("qemu stream: frame length %d exceeds the maximum %d", e.Length, e.Max)
}

// reader is the parser of the 4-byte length framing; only the goroutine
// calling ReadBatch touches it.
type reader struct {
	buf      []byte
	pos, end int

	hdr  [HeaderLen]byte
	hdrN int // header bytes collected (a header may be split across reads)

	want int         // body bytes still to come
	cur  *frames.Buf // where they go; nil while skipping a runt
	have int

	err error // the connection's read error, handled once buffered frames are out

	runts uint64 // records of 1..13 bytes skipped
}

// parse consumes buf[pos:end], appending complete frames to b, until b is
// full or the input is exhausted. A length above max is a *ProtocolError.
func (r *reader) parse(b *frames.Batch, max int) error {
	for !b.Full() && r.pos < r.end {
		data := r.buf[r.pos:r.end]
		if r.want > 0 {
			n := min(r.want, len(data))
			if r.cur != nil {
				copy(r.cur.Space()[r.have:], data[:n])
				r.have += n
			}
			r.want -= n
			r.pos += n
			if r.want == 0 && r.cur != nil {
				r.cur.SetLen(r.have)
				b.Add(r.cur)
				r.cur = nil
			}
			continue
		}
		var l int
		if r.hdrN == 0 && len(data) >= HeaderLen {
			l = int(data[0])<<24 | int(data[1])<<16 | int(data[2])<<8 | int(data[3])
			r.pos += HeaderLen
		} else {
			n := copy(r.hdr[r.hdrN:], data)
			r.hdrN += n
			r.pos += n
			if r.hdrN < HeaderLen {
				continue
			}
			r.hdrN = 0
			l = int(r.hdr[0])<<24 | int(r.hdr[1])<<16 | int(r.hdr[2])<<8 | int(r.hdr[3])
		}
		switch {
		case l == 0:
		case l > max:
			return &ProtocolError{Length: l, Max: max}
		case l < frames.MinFrame:
			r.runts++
			r.want, r.cur = l, nil
		case r.end-r.pos >= l:
			f := frames.Get(l)
			copy(f.Space(), r.buf[r.pos:r.pos+l])
			f.SetLen(l)
			b.Add(f)
			r.pos += l
		default:
			r.cur = frames.Get(l)
			r.want, r.have = l, 0
		}
	}
	return nil
}

// reset forgets everything buffered (a new connection starts clean).
func (r *reader) reset() {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	r.pos, r.end, r.hdrN, r.want, r.have, r.err = 0, 0, 0, 0, 0, nil
}

// appendFrame appends the framed p to buf.
func appendFrame(buf, p []byte) []byte {
	n := len(p)
	buf = append(buf, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	return append(buf, p...)
}
