// Package compress compresses a byte stream that carries vdestream frames
// (a vde_plug cable over stdin/stdout, ssh or a command), with zstd or S2
// from github.com/klauspost/compress. It is a govde addition: the original
// vde_plug has no compression, so both ends must be govde plugs given the
// same --compress option.
//
// Negotiation. Each end first writes a 14-byte header and reads its peer's
// before any compressed byte is sent:
//
//	00 0c 'g' 'o' 'v' 'd' 'e' '-' 'c' 'z' VERSION ALG 00 00
//
// To a plain vdestream reader (a vde_plug without --compress, ours or the
// original) the header is one 12-byte record: a runt frame that is dropped
// rather than garbage on its network. The compressed end, seeing anything
// but a matching header, fails with a clear error (ErrHandshake) instead of
// decoding plain frames as compressed data; since it never sends compressed
// data before the check, the plain end receives nothing but that runt.
// A plain peer sends nothing until a frame arrives from its network, so
// the check may wait; Options.Timeout bounds the wait.
//
// After the headers each direction is one compressed stream carrying the
// usual 2-byte-length framing: for zstd a zstd frame that never ends, each
// Write flushed as one or more blocks (the window spans writes, so small
// batches still compress well); for S2 a sequence of blocks, each Write
// (up to MaxBlock bytes) one uvarint-length-prefixed S2 block. Frames are
// never held back, and neither direction allocates per write.
package compress

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// Algorithm is a compression algorithm.
type Algorithm byte

const (
	// Zstd is Zstandard (better ratio).
	Zstd Algorithm = 'z'
	// S2 is S2, a faster Snappy extension (less CPU, lower ratio).
	S2 Algorithm = 's'
)

// String returns the option value naming a.
func (a Algorithm) String() string {
	switch a {
	case Zstd:
		return "zstd"
	case S2:
		return "s2"
	}
	return fmt.Sprintf("algorithm %#x", byte(a))
}

// ParseAlgorithm parses an option value: "zstd" or "s2".
func ParseAlgorithm(s string) (Algorithm, error) {
	switch s {
	case "zstd":
		return Zstd, nil
	case "s2":
		return S2, nil
	}
	return 0, fmt.Errorf("unknown compression %q (want zstd or s2)", s)
}

// Version is the version byte of the header.
const Version = 1

// HeaderLen is the length of the negotiation header.
const HeaderLen = 14

var magic = [8]byte{'g', 'o', 'v', 'd', 'e', '-', 'c', 'z'}

func header(a Algorithm) [HeaderLen]byte {
	var h [HeaderLen]byte
	h[0], h[1] = 0, HeaderLen-2
	copy(h[2:10], magic[:])
	h[10], h[11] = Version, byte(a)
	return h
}

// ErrHandshake is matched (errors.Is) by every negotiation failure.
var ErrHandshake = errors.New("compress: handshake failed")

// handshakeError is a negotiation failure with its explanation.
type handshakeError struct{ msg string }

func (e *handshakeError) Error() string        { return "compress: " + e.msg }
func (e *handshakeError) Is(target error) bool { return target == ErrHandshake }

// DefaultTimeout is how long New waits for the peer's header.
const DefaultTimeout = 20 * time.Second

// Options configure a Stream.
type Options struct {
	// Timeout bounds the wait for the peer's header (DefaultTimeout when
	// zero, no limit when negative).
	Timeout time.Duration
	// Level is the zstd level (zstd.SpeedFastest when zero); S2 uses its
	// default mode.
	Level zstd.EncoderLevel
}

// Stats count bytes through a Stream.
type Stats struct {
	// RawOut and WireOut are bytes given to Write and bytes written to the
	// underlying writer (headers included); RawIn and WireIn the same for
	// reading.
	RawOut, WireOut, RawIn, WireIn uint64
}

// Stream is a compressing io.ReadWriter over r (decompressed on Read) and
// w (compressed on Write). Read and Write may be called concurrently (one
// reader, one writer); both block until the handshake is over and then
// return its error if it failed. Write flushes every call.
type Stream struct {
	alg Algorithm
	r   *countReader
	w   *countWriter

	ready chan struct{}
	err   error // handshake result, set before ready is closed
	once  sync.Once

	dec io.Reader
	zd  *zstd.Decoder
	zw  *zstd.Encoder
	s2w []byte // S2: the block being written (length prefix + block)
	s2r *s2Reader

	rawOut, rawIn atomic.Uint64
}

type countReader struct {
	r io.Reader
	n atomic.Uint64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(uint64(n))
	return n, err
}

type countWriter struct {
	w io.Writer
	n atomic.Uint64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(uint64(n))
	return n, err
}

// New starts the handshake on r and w (in its own goroutine: it writes this
// end's header, then reads and checks the peer's) and returns the stream.
// The caller keeps ownership of r and w.
func New(r io.Reader, w io.Writer, alg Algorithm, opt Options) (*Stream, error) {
	if alg != Zstd && alg != S2 {
		return nil, fmt.Errorf("compress: unknown %v", alg)
	}
	if opt.Timeout == 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.Level == 0 {
		opt.Level = zstd.SpeedFastest
	}
	s := &Stream{alg: alg, r: &countReader{r: r}, w: &countWriter{w: w}, ready: make(chan struct{})}
	switch alg {
	case Zstd:
		zw, err := zstd.NewWriter(s.w, zstd.WithEncoderLevel(opt.Level), zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(1<<20), zstd.WithLowerEncoderMem(true))
		if err != nil {
			return nil, err
		}
		s.zw = zw
	case S2:
		s.s2w = make([]byte, binary.MaxVarintLen32+s2.MaxEncodedLen(MaxBlock))
	}
	var timer *time.Timer
	if opt.Timeout > 0 {
		timer = time.AfterFunc(opt.Timeout, func() {
			s.finish(&handshakeError{fmt.Sprintf("no compression header from the peer within %v: is the other end a vde_plug without --compress=%v?", opt.Timeout, alg)})
		})
	}
	go func() {
		err := s.handshake()
		if timer != nil {
			timer.Stop()
		}
		s.finish(err)
	}()
	return s, nil
}

// finish records the handshake result once and releases Read and Write.
func (s *Stream) finish(err error) {
	s.once.Do(func() {
		s.err = err
		close(s.ready)
	})
}

func (s *Stream) handshake() error {
	h := header(s.alg)
	if _, err := s.w.Write(h[:]); err != nil {
		return fmt.Errorf("compress: writing the header: %w", err)
	}
	var p [HeaderLen]byte
	if n, err := io.ReadFull(s.r, p[:]); err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return &handshakeError{fmt.Sprintf("the peer closed the stream before sending a compression header: is the other end a vde_plug without --compress=%v?", s.alg)}
		}
		if n > 0 && p[0] == 0 && p[1] == HeaderLen-2 {
			return &handshakeError{"the peer's compression header is truncated"}
		}
		if n == 0 {
			return fmt.Errorf("compress: reading the header: %w", err)
		}
	}
	if p[0] != 0 || p[1] != HeaderLen-2 || [8]byte(p[2:10]) != magic {
		return &handshakeError{fmt.Sprintf("the peer sent plain vdestream data (first bytes % x), not a %v-compressed stream: start the other end with --compress=%v too", p[:4], s.alg, s.alg)}
	}
	if p[10] != Version {
		return &handshakeError{fmt.Sprintf("the peer speaks compressed-stream version %d, this end version %d", p[10], Version)}
	}
	if a := Algorithm(p[11]); a != s.alg {
		return &handshakeError{fmt.Sprintf("the peer compresses with %v, this end with %v", a, s.alg)}
	}
	switch s.alg {
	case Zstd:
		zd, err := zstd.NewReader(s.r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(8<<20), zstd.WithDecoderMaxMemory(64<<20))
		if err != nil {
			return err
		}
		s.zd, s.dec = zd, zd
	case S2:
		s.s2r = &s2Reader{r: bufio.NewReaderSize(s.r, 64<<10), comp: make([]byte, s2.MaxEncodedLen(MaxBlock)), data: make([]byte, MaxBlock)}
		s.dec = s.s2r
	}
	return nil
}

// MaxBlock is the largest S2 block (uncompressed bytes): longer writes are
// cut into several blocks.
const MaxBlock = 256 << 10

// writeS2 compresses p as S2 blocks, each written with one Write.
func (s *Stream) writeS2(p []byte) error {
	for len(p) > 0 {
		chunk := p[:min(len(p), MaxBlock)]
		p = p[len(chunk):]
		const off = binary.MaxVarintLen32
		enc := s2.Encode(s.s2w[off:], chunk)
		var hdr [binary.MaxVarintLen32]byte
		h := binary.PutUvarint(hdr[:], uint64(len(enc)))
		copy(s.s2w[off-h:off], hdr[:h])
		if _, err := s.w.Write(s.s2w[off-h : off+len(enc)]); err != nil {
			return err
		}
	}
	return nil
}

// s2Reader decodes the S2 block sequence.
type s2Reader struct {
	r          *bufio.Reader
	comp, data []byte
	pos, end   int // undelivered decoded bytes: data[pos:end]
}

var errBlock = errors.New("bad S2 block")

func (d *s2Reader) Read(p []byte) (int, error) {
	if d.pos == d.end {
		n, err := binary.ReadUvarint(d.r)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0, io.EOF
			}
			return 0, err
		}
		if n == 0 || n > uint64(len(d.comp)) {
			return 0, errBlock
		}
		if _, err := io.ReadFull(d.r, d.comp[:n]); err != nil {
			return 0, err
		}
		if l, err := s2.DecodedLen(d.comp[:n]); err != nil || l > len(d.data) {
			return 0, errBlock
		}
		out, err := s2.Decode(d.data, d.comp[:n])
		if err != nil {
			return 0, err
		}
		d.pos, d.end = 0, len(out)
	}
	n := copy(p, d.data[d.pos:d.end])
	d.pos += n
	return n, nil
}

// Read implements io.Reader: decompressed bytes from the peer.
func (s *Stream) Read(p []byte) (int, error) {
	<-s.ready
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.dec.Read(p)
	s.rawIn.Add(uint64(n))
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("compress: corrupt %v stream from the peer: %w", s.alg, err)
	}
	return n, err
}

// Write implements io.Writer: p is compressed and flushed to the peer.
func (s *Stream) Write(p []byte) (int, error) {
	<-s.ready
	if s.err != nil {
		return 0, s.err
	}
	var err error
	switch s.alg {
	case Zstd:
		if _, err = s.zw.Write(p); err == nil {
			err = s.zw.Flush()
		}
	case S2:
		err = s.writeS2(p)
	}
	if err != nil {
		return 0, err
	}
	s.rawOut.Add(uint64(len(p)))
	return len(p), nil
}

// Stats returns the byte counters. Safe from any goroutine.
func (s *Stream) Stats() Stats {
	return Stats{RawOut: s.rawOut.Load(), WireOut: s.w.n.Load(), RawIn: s.rawIn.Load(), WireIn: s.r.n.Load()}
}

// Ready is closed when the handshake is over; Err then tells how it went.
func (s *Stream) Ready() <-chan struct{} { return s.ready }

// Err returns the handshake error (nil while it runs or if it succeeded).
func (s *Stream) Err() error {
	select {
	case <-s.ready:
		return s.err
	default:
		return nil
	}
}

// Close releases the decoder; it does not close r or w.
func (s *Stream) Close() error {
	select {
	case <-s.ready:
		if s.zd != nil {
			s.zd.Close()
		}
	default:
	}
	return nil
}
