package filter

import (
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestEOFDrainsAndEnds(t *testing.T) {
	g := newRig(t, Options{}, 3)
	sendSeq(g.l, 500, 64)
	go func() {
		for len(g.l.in) > 0 {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond)
		close(g.l.eof)
	}()
	select {
	case <-g.w.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the wire did not end at EOF")
	}
	if err := g.w.Err(); err != nil {
		t.Fatalf("Err after EOF: %v", err)
	}
	if got := len(g.r.received()); got != 500 {
		t.Fatalf("%d of 500 frames written before the end", got)
	}
}

func TestCloseReleasesAndLeaksNothing(t *testing.T) {
	before := runtime.NumGoroutine()
	for i := 0; i < 3; i++ {
		sys := newSystem()
		l, r := newTestEP(0), newTestEP(0)
		var p Params
		p[Delay] = Value{V: 10000}
		w, err := New(sys, Path{From: l, To: r}, Path{From: r, To: l}, Options{Params: [2]Params{p, p}})
		if err != nil {
			t.Fatal(err)
		}
		sendSeq(l, 100, 64)
		waitIn(t, w, LR, 100)
		st, _ := w.Stats(LR)
		if st.QueuedFrames != 100 || st.QueuedBytes != 100*66 {
			t.Fatalf("queued %d frames, %d bytes", st.QueuedFrames, st.QueuedBytes)
		}
		w.Close()
		if _, err := w.Stats(LR); err != ErrStopped {
			t.Fatalf("Stats after Close: %v", err)
		}
		sys.Shutdown()
	}
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+2 {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines before, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

func TestMonoWire(t *testing.T) {
	sys := newSystem()
	defer sys.Shutdown()
	ep := newTestEP(0)
	w, err := New(sys, Path{From: ep, To: ep}, Path{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.Dirs() != 1 {
		t.Fatal("not monodirectional")
	}
	sendSeq(ep, 10, 64)
	if got := ep.waitCount(10, 3*time.Second); len(got) != 10 {
		t.Fatalf("%d of 10", len(got))
	}
	if _, err := w.Stats(RL); err == nil {
		t.Fatal("a monodirectional wire has an RL stage")
	}
}

func TestBlink(t *testing.T) {
	path := filepath.Join(t.TempDir(), "blink")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	b, err := OpenBlink(path, "WF1")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	g := newRig(t, Options{Blink: b}, 0)
	g.l.in <- frame(1, 97)
	g.r.in <- frame(2, 60)
	want := map[string]bool{"WF1 LR 99\n": true, "WF1 RL 62\n": true}
	buf := make([]byte, 100)
	for i := 0; i < 2; i++ {
		ln.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, err := ln.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if !want[string(buf[:n])] {
			t.Fatalf("blink datagram %q", buf[:n])
		}
		delete(want, string(buf[:n]))
	}
	if b.ID() != "WF1 " {
		t.Fatalf("ID %q", b.ID())
	}

	// A reader that never reads must not stall the filter (the original's
	// blocking sendto does): frames flow, datagrams are dropped.
	sendSeq(g.l, 2000, 64)
	if got := g.r.waitCount(2001, 5*time.Second); len(got) != 2001 {
		t.Fatalf("%d of 2001 frames with a stuck blink reader", len(got))
	}
	st, _ := g.w.Stats(LR)
	if st.BlinkDrops == 0 || b.Dropped() == 0 {
		t.Fatal("no blink datagram was dropped although nobody reads them")
	}
}

func TestBlinkMono(t *testing.T) {
	b, err := OpenBlink(filepath.Join(t.TempDir(), "nobody"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !strings.HasSuffix(b.ID(), " ") || len(b.ID()) < 7 {
		t.Fatalf("default id %q", b.ID())
	}
	msg := b.appendMsg(nil, "--", 99)
	if string(msg) != b.ID()+"-- 99\n" {
		t.Fatalf("%q", msg)
	}
	if b.send(msg) {
		t.Fatal("a datagram to a missing socket was sent")
	}
}
