package vswitch

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/govde/govde/actors/fabric"
	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports/vde2"
)

func macOf(n byte) []byte { return []byte{2, 0, 0, 0, 0, n} }

// ethFrame returns a 64-byte frame from src to dst carrying seq.
func ethFrame(dst, src []byte, seq int) *frames.Buf {
	p := make([]byte, 64)
	copy(p, dst)
	copy(p[6:], src)
	p[12], p[13] = 0x88, 0xb5
	p[14], p[15], p[16], p[17] = byte(seq>>24), byte(seq>>16), byte(seq>>8), byte(seq)
	return frames.GetCopy(p)
}

func seqOf(p []byte) int { return int(p[14])<<24 | int(p[15])<<16 | int(p[16])<<8 | int(p[17]) }

type testSwitch struct {
	sw  *Switch
	dir string
}

func startSwitch(t *testing.T, ports int) *testSwitch {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "sw")
	sw := New(fabric.Config{NumPorts: ports, Logf: t.Logf})
	if err := sw.Listen(vde2.DefaultServerConfig(dir)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sw.Close)
	return &testSwitch{sw: sw, dir: dir}
}

func (s *testSwitch) dial(t *testing.T) *vde2.Client {
	t.Helper()
	c, err := vde2.Dial(vde2.ClientConfig{Path: s.dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// announce makes the switch learn mac on c's port.
func announce(t *testing.T, c *vde2.Client, mac []byte) {
	t.Helper()
	b := frames.GetBatch()
	f := ethFrame(macOf(0xee), mac, 0)
	f.Bytes()[12] = 0x08 // not a test frame
	b.Add(f)
	if err := c.WriteBatch(b); err != nil {
		t.Fatal(err)
	}
	b.Release()
}

// sendPaced sends frames built by mk(seq) for seq in [0,total), in batches,
// waiting for room in the switch's input socket like a blocking
// libvdeplug client does.
func sendPaced(c *vde2.Client, total int, mk func(seq int) *frames.Buf) error {
	for seq := 0; seq < total; {
		b := frames.GetBatch()
		for ; seq < total && !b.Full(); seq++ {
			b.Add(mk(seq))
		}
		_, err := c.WaitWriteBatch(b, 0, time.Time{})
		b.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

// recvFrom reads until want frames from src arrived (others are ignored),
// checking their order; slow sleeps now and then.
func recvFrom(t *testing.T, c *vde2.Client, src []byte, want int, slow time.Duration) {
	t.Helper()
	got := make(chan error, 1)
	go func() {
		b := frames.GetBatch()
		defer b.Release()
		n := 0
		for n < want {
			if err := c.ReadBatch(b); err != nil {
				got <- err
				return
			}
			for _, f := range b.Slice() {
				p := f.Bytes()
				if string(p[6:12]) != string(src) || p[12] != 0x88 || p[13] != 0xb5 {
					continue
				}
				if s := seqOf(p); s != n {
					t.Errorf("frame %d arrived as %d (lost or reordered)", n, s)
					got <- nil
					return
				}
				n++
			}
			b.ReleaseFrames()
			if slow > 0 && n%256 == 0 {
				time.Sleep(slow)
			}
		}
		got <- nil
	}()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("not every frame arrived within 30 s")
	}
}

func portDrops(t *testing.T, sw *Switch) (total uint64) {
	st, err := sw.Stats()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range st.Ports {
		total += p.Counters.DropQueue + p.Counters.DropEndpoint + p.Counters.DropError
	}
	return total
}

// A sender faster than its receiver is paced, not dropped: a receiver that
// reads slowly gets every one of 30000 unicast frames, in order, and the
// switch counts no drop anywhere.
func TestPacingNoLossToSlowReceiver(t *testing.T) {
	s := startSwitch(t, 8)
	a, b := s.dial(t), s.dial(t)
	announce(t, a, macOf(1))
	announce(t, b, macOf(2))
	time.Sleep(50 * time.Millisecond)
	const total = 30000
	errc := make(chan error, 1)
	go func() {
		errc <- sendPaced(a, total, func(seq int) *frames.Buf { return ethFrame(macOf(2), macOf(1), seq) })
	}()
	recvFrom(t, b, macOf(1), total, 2*time.Millisecond)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if d := portDrops(t, s.sw); d != 0 {
		t.Fatalf("the switch dropped %d frames", d)
	}
	if w, _ := a.Drops(); w != 0 {
		t.Fatalf("the sender dropped %d frames", w)
	}
}

// One port whose client never reads must not stall the others: a sender
// alternating unicast frames to a dead receiver and to a live one, plus
// broadcasts, gets every frame to the live one, in order; the dead one's
// frames are dropped (and counted) once it has stalled.
func TestStuckPortDoesNotStallOthers(t *testing.T) {
	s := startSwitch(t, 8)
	a, dead, live := s.dial(t), s.dial(t), s.dial(t)
	announce(t, a, macOf(1))
	announce(t, dead, macOf(2))
	announce(t, live, macOf(3))
	time.Sleep(50 * time.Millisecond)
	const total = 20000 // to the live client
	bcast := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	errc := make(chan error, 1)
	start := time.Now()
	go func() {
		// seq 3k: to live (counted), 3k+1: to dead, 3k+2: broadcast with
		// a sequence of its own in the high byte range
		errc <- sendPaced(a, 3*total, func(i int) *frames.Buf {
			switch i % 3 {
			case 0:
				return ethFrame(macOf(3), macOf(1), i/3)
			case 1:
				return ethFrame(macOf(2), macOf(1), i/3)
			default:
				f := ethFrame(bcast, macOf(1), i/3)
				f.Bytes()[13] = 0xb6 // not counted by recvFrom
				return f
			}
		})
	}()
	recvFrom(t, live, macOf(1), total, 0)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	t.Logf("%d frames to the live client (and as many broadcasts) in %v", total, time.Since(start))
	if d := portDrops(t, s.sw); d == 0 {
		t.Fatal("no drop counted for the client that never reads")
	}
}
