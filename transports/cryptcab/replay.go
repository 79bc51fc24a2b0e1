package cryptcab

// Replay protection: a sliding window over the DATA counters of one
// receive key, a ring of 64-bit blocks as in RFC 6479.

const (
	windowBlocks = 32
	// Window is how far behind the highest counter received a datagram may
	// arrive and still be accepted (reordering tolerance). Older ones are
	// dropped and counted as TooOld; repeated ones as Replayed.
	Window = (windowBlocks - 1) * 64
)

type replayVerdict int

const (
	replayFresh replayVerdict = iota
	replaySeen
	replayTooOld
)

// replayWindow remembers which counters were accepted. It is used by one
// goroutine (the engine's reader). The zero value has seen nothing.
type replayWindow struct {
	any    bool
	last   uint64 // highest accepted counter
	blocks [windowBlocks]uint64
}

// check reports whether counter c may be accepted, without recording it:
// the caller authenticates the datagram first, then calls accept.
func (w *replayWindow) check(c uint64) replayVerdict {
	if !w.any || c > w.last {
		return replayFresh
	}
	if w.last-c >= Window {
		return replayTooOld
	}
	if w.blocks[(c>>6)%windowBlocks]&(1<<(c&63)) != 0 {
		return replaySeen
	}
	return replayFresh
}

// accept records counter c, which check found fresh and which
// authenticated; it slides the window forward when c is the newest.
func (w *replayWindow) accept(c uint64) {
	if !w.any {
		w.any = true
		w.last = c
		w.blocks = [windowBlocks]uint64{}
	} else if c > w.last {
		cur, idx := w.last>>6, c>>6
		diff := idx - cur
		if diff > windowBlocks {
			diff = windowBlocks
		}
		for i := uint64(1); i <= diff; i++ {
			w.blocks[(cur+i)%windowBlocks] = 0
		}
		w.last = c
	}
	w.blocks[(c>>6)%windowBlocks] |= 1 << (c & 63)
}

// highest returns the highest counter accepted (0 when none).
func (w *replayWindow) highest() uint64 { return w.last }
