package transports

import (
	"testing"

	"github.com/govde/govde/frames"
)

// moreEP hands out queued frames through ReadMore, one per call, and counts
// the calls.
type moreEP struct {
	q     [][]byte
	calls int
}

func (m *moreEP) ReadBatch(*frames.Batch) error  { return nil }
func (m *moreEP) WriteBatch(*frames.Batch) error { return nil }
func (m *moreEP) Close() error                   { return nil }
func (m *moreEP) Describe() string               { return "more" }
func (m *moreEP) ReadMore(b *frames.Batch) (int, error) {
	m.calls++
	if len(m.q) == 0 {
		return 0, nil
	}
	b.Add(frames.GetCopy(m.q[0]))
	m.q = m.q[1:]
	return 1, nil
}

// tcpSeg builds an IPv4 TCP frame with flags and 100 bytes of payload.
func tcpSeg(flags byte) []byte {
	p := make([]byte, 14+20+20+100)
	p[12] = 0x08
	ip := p[14:]
	ip[0] = 0x45
	ip[2], ip[3] = 0, 140
	ip[9] = 6
	ip[20+12] = 5 << 4
	ip[20+13] = flags
	return p
}

func TestCompleteExtendsABurst(t *testing.T) {
	ack, psh := tcpSeg(0x10), tcpSeg(0x18)
	// the burst goes on until PSH, then nothing more is read
	m := &moreEP{q: [][]byte{ack, ack, psh, ack}}
	b := frames.GetBatch()
	defer b.Release()
	b.Add(frames.GetCopy(ack))
	Complete(b, m)
	if b.N != 4 || len(m.q) != 1 {
		t.Fatalf("batch of %d, %d left: want the burst up to PSH (4), 1 left", b.N, len(m.q))
	}
	// a burst whose rest does not come: a few empty tries, then give up
	m = &moreEP{}
	b.ReleaseFrames()
	b.Add(frames.GetCopy(ack))
	Complete(b, m)
	if b.N != 1 || m.calls != moreTries {
		t.Fatalf("batch of %d after %d calls, want 1 after %d", b.N, m.calls, moreTries)
	}
	// a batch ending in a PSH segment (or not TCP) is not extended
	m = &moreEP{q: [][]byte{ack}}
	b.ReleaseFrames()
	b.Add(frames.GetCopy(psh))
	Complete(b, m)
	if b.N != 1 || m.calls != 0 {
		t.Fatalf("extended a finished burst: %d frames, %d calls", b.N, m.calls)
	}
}
