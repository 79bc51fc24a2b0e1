package cryptcab

import "testing"

func TestReplayWindow(t *testing.T) {
	var w replayWindow
	step := func(c uint64, want replayVerdict) {
		t.Helper()
		if got := w.check(c); got != want {
			t.Fatalf("check(%d) = %d, want %d (highest %d)", c, got, want, w.highest())
		}
		if got := w.check(c); got == replayFresh {
			w.accept(c)
		}
	}
	step(0, replayFresh)
	step(0, replaySeen)
	step(5, replayFresh)
	step(3, replayFresh) // reordered, within the window
	step(3, replaySeen)
	step(5, replaySeen)
	step(Window+5, replayFresh)
	step(6, replayFresh) // exactly Window-1 behind
	step(5, replayTooOld)
	step(4, replayTooOld)
	step(1<<40, replayFresh) // a jump clears the whole ring
	step(1<<40-Window+1, replayFresh)
	step(1<<40-Window, replayTooOld)
	step(Window+5, replayTooOld)
	step(1<<40, replaySeen)
}
