package qemu

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/memtest"
	"github.com/govde/govde/transports/vnl"
)

func eth(n int, seed byte) []byte {
	f := make([]byte, n)
	copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, seed, 0x88, 0xb5})
	for i := 14; i < n; i++ {
		f[i] = seed ^ byte(i)
	}
	return f
}

// framed encodes frames as QEMU's net/stream.c sends them.
func framed(fs ...[]byte) []byte {
	var out []byte
	for _, f := range fs {
		out = binary.BigEndian.AppendUint32(out, uint32(len(f)))
		out = append(out, f...)
	}
	return out
}

// fakeQEMU is the QEMU side of a stream: it reads the 4-byte framing as
// net_fill_rstate does and writes it.
type fakeQEMU struct {
	t *testing.T
	c net.Conn
}

func (q *fakeQEMU) recv() []byte {
	q.t.Helper()
	q.c.SetReadDeadline(time.Now().Add(3 * time.Second))
	var hdr [4]byte
	if _, err := io.ReadFull(q.c, hdr[:]); err != nil {
		q.t.Fatalf("fake QEMU: %v", err)
	}
	f := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(q.c, f); err != nil {
		q.t.Fatalf("fake QEMU: %v", err)
	}
	return f
}

// send writes p in pieces of the given size (1: byte by byte, so every
// header is split), each piece a separate write. It may run on its own
// goroutine.
func (q *fakeQEMU) send(p []byte, piece int) {
	q.t.Helper()
	for len(p) > 0 {
		n := min(piece, len(p))
		if _, err := q.c.Write(p[:n]); err != nil {
			q.t.Errorf("fake QEMU write: %v", err)
			return
		}
		p = p[n:]
		if piece < 8 {
			time.Sleep(time.Millisecond / 4)
		}
	}
}

func open(t *testing.T, module, arg string, a vnl.Args) transports.Endpoint {
	t.Helper()
	open := OpenStream
	if module == "qemu-dgram" {
		open = OpenDgram
	}
	ep, err := open(arg, a)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	return ep
}

func write(t *testing.T, e transports.Endpoint, fs ...[]byte) {
	t.Helper()
	b := frames.GetBatch()
	defer b.Release()
	for _, f := range fs {
		b.Add(frames.GetCopy(f))
	}
	if err := e.WriteBatch(b); err != nil {
		t.Fatal(err)
	}
}

// readN reads until n frames came, or the endpoint returns an error.
func readN(t *testing.T, e transports.Endpoint, n int) ([][]byte, error) {
	t.Helper()
	got, err := memtest.ReadFrames(e, n, 5*time.Second)
	if err == memtest.ErrTimeout {
		t.Fatalf("read timed out waiting for %d frames", n)
	}
	return got, err
}

func same(t *testing.T, what string, got [][]byte, want ...[]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d frames, want %d", what, len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("%s: frame %d has %d bytes, want %d (or differs)", what, i, len(got[i]), len(want[i]))
		}
	}
}
