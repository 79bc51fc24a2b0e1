package stream

import (
	"io"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
)

// WriteBatch implements transports.Endpoint. It writes every frame of b,
// in order, each preceded by its 2-byte big-endian length. The caller keeps
// ownership of b and its frames; WriteBatch only reads them.
//
// The frames are copied into the endpoint's write buffer and written with
// as few Write calls as possible: one per batch whenever the encoded batch
// fits in WriteBufSize bytes (always true for standard-size frames). Frames
// longer than MaxFrame are dropped and counted, as vdestream_send refuses
// them. WriteBatch blocks until the underlying writer has taken everything;
// an error from it means the endpoint is unusable (transports.ErrClosed if
// Close was called).
func (e *Endpoint) WriteBatch(b *frames.Batch) error {
	if e.closed.Load() {
		return transports.ErrClosed
	}
	e.wmu.Lock()
	defer e.wmu.Unlock()
	buf := e.wbuf[:0]
	for _, f := range b.Slice() {
		p := f.Bytes()
		if len(p) > e.maxFrame {
			e.txOversize.Add(1)
			continue
		}
		if len(buf)+HeaderLen+len(p) > cap(buf) {
			if err := e.flush(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
		buf = append(buf, byte(len(p)>>8), byte(len(p)))
		buf = append(buf, p...)
	}
	if len(buf) == 0 {
		return nil
	}
	return e.flush(buf)
}

// flush writes p completely; the caller holds wmu.
func (e *Endpoint) flush(p []byte) error {
	n, err := e.w.Write(p)
	if err == nil && n != len(p) {
		err = io.ErrShortWrite
	}
	if err != nil && e.closed.Load() {
		return transports.ErrClosed
	}
	return err
}
