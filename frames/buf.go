// Package frames holds govde's frame memory: pooled, reference-counted frame
// buffers in two size classes, batches of frames, MAC addresses and the
// Ethernet / 802.1Q helpers. It is the only package that allocates frame memory.
package frames

import (
	"sync"
	"sync/atomic"
)

const (
	// Headroom is the space kept in front of every frame so that one 802.1Q
	// tag can be pushed in place without copying the payload.
	Headroom = 4
	// MaxStd is the largest frame of the standard class: 1518 bytes of
	// Ethernet frame plus one 802.1Q tag.
	MaxStd = 1518 + 4
	// MaxJumbo is the largest frame govde moves (the 2-byte stream length
	// prefix limits frames to 65535 bytes).
	MaxJumbo = 65535
	// MinFrame is the shortest frame a switch forwards (dst, src, type).
	MinFrame = 14
)

// Buf is one frame in a pooled buffer.
//
// Ownership: a Buf starts with one reference, held by whoever called Get.
// Every holder releases its reference exactly once with Release; the last
// release returns the buffer to its pool. To hand a frame to N receivers
// (flooding), the owner calls Retain(N-1) while it is still the only holder
// and gives one reference to each receiver. A holder may modify the bytes
// only while Shared() is false; otherwise it must Clone first.
type Buf struct {
	mem  []byte // Headroom + class size bytes; never reallocated
	off  int    // start of the frame in mem
	n    int    // frame length
	refs atomic.Int32
	pool *sync.Pool
	// credit, when set, is the reader's Credit this frame counts against
	// until its last Release (see credit.go).
	credit atomic.Pointer[Credit]
}

var stdPool, jumboPool sync.Pool

func init() {
	stdPool.New = func() any { return &Buf{mem: make([]byte, Headroom+MaxStd), pool: &stdPool} }
	jumboPool.New = func() any { return &Buf{mem: make([]byte, Headroom+MaxJumbo), pool: &jumboPool} }
}

// Get returns an empty frame buffer able to hold size bytes, with one
// reference owned by the caller. size above MaxJumbo is clamped.
func Get(size int) *Buf {
	var b *Buf
	if size <= MaxStd {
		b = stdPool.Get().(*Buf)
	} else {
		b = jumboPool.Get().(*Buf)
	}
	b.off = Headroom
	b.n = 0
	b.refs.Store(1)
	return b
}

// GetCopy returns a new buffer holding a copy of p (truncated to the jumbo
// class if longer).
func GetCopy(p []byte) *Buf {
	b := Get(len(p))
	b.n = copy(b.mem[b.off:], p)
	return b
}

// Bytes returns the frame. The slice is valid until the holder releases it.
func (b *Buf) Bytes() []byte { return b.mem[b.off : b.off+b.n] }

// Len returns the frame length.
func (b *Buf) Len() int { return b.n }

// Cap returns the largest frame this buffer can hold from its current start.
func (b *Buf) Cap() int { return len(b.mem) - b.off }

// Space returns the whole writable area from the frame start, for a reader
// to fill before calling SetLen.
func (b *Buf) Space() []byte { return b.mem[b.off:] }

// SetLen sets the frame length after the caller wrote into Space.
func (b *Buf) SetLen(n int) {
	if n < 0 || n > len(b.mem)-b.off {
		panic("frames: SetLen out of range")
	}
	b.n = n
}

// Retain adds n references (for handing the frame to n more holders).
func (b *Buf) Retain(n int) { b.refs.Add(int32(n)) }

// Refs reports the current number of references.
func (b *Buf) Refs() int { return int(b.refs.Load()) }

// Shared reports whether more than one holder references the buffer.
func (b *Buf) Shared() bool { return b.refs.Load() > 1 }

// Release drops the caller's reference; the last one returns the buffer to
// its pool. Releasing more often than referenced panics.
func (b *Buf) Release() {
	switch r := b.refs.Add(-1); {
	case r == 0:
		if b.credit.Load() != nil {
			b.DropCredit()
		}
		b.pool.Put(b)
	case r < 0:
		panic("frames: Buf released more often than referenced")
	}
}

// Clone returns a private copy of the frame with one reference.
func (b *Buf) Clone() *Buf {
	c := Get(b.n)
	c.n = copy(c.mem[c.off:], b.Bytes())
	return c
}

// Truncate shortens the frame to n bytes (no-op when already shorter).
func (b *Buf) Truncate(n int) {
	if n < b.n {
		b.n = n
	}
}

// PushTag inserts an 802.1Q tag (TPID 0x8100 and tci) after the source
// MAC, using the headroom; the frame grows by 4 bytes. It reports false when
// the frame is too short or there is no room (then nothing changes).
// The caller must hold the only reference.
func (b *Buf) PushTag(tci uint16) bool {
	if b.n < 12 {
		return false
	}
	if b.off < 4 {
		if b.off+b.n+4 > len(b.mem) {
			return false
		}
		// no headroom left: shift the tail instead
		copy(b.mem[b.off+16:b.off+b.n+4], b.mem[b.off+12:b.off+b.n])
	} else {
		copy(b.mem[b.off-4:b.off+8], b.mem[b.off:b.off+12])
		b.off -= 4
	}
	m := b.mem[b.off:]
	m[12], m[13] = 0x81, 0x00
	m[14], m[15] = byte(tci>>8), byte(tci)
	b.n += 4
	return true
}

// PopTag removes the 802.1Q tag following the source MAC (the caller has
// checked that the frame is tagged); the frame shrinks by 4 bytes.
// The caller must hold the only reference.
func (b *Buf) PopTag() {
	if b.n < 16 {
		return
	}
	copy(b.mem[b.off+4:b.off+16], b.mem[b.off:b.off+12])
	b.off += 4
	b.n -= 4
}
