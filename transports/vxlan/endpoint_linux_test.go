package vxlan

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/internal/vxnet"
)

// freePort returns a UDP port free on the loopback addresses.
func freePort(t testing.TB) uint16 {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrInet4{}); err != nil {
		t.Fatal(err)
	}
	sa, _ := unix.Getsockname(fd)
	return uint16(sa.(*unix.SockaddrInet4).Port)
}

// pair opens two point-to-point endpoints on 127.0.0.1 and 127.0.0.2 at
// the same port, each the other's peer.
func pair(t testing.TB, vni uint32) (a, b *Endpoint, port uint16) {
	t.Helper()
	port = freePort(t)
	open := func(local, remote string) *Endpoint {
		c, err := ParseVNL(remote + "/bind=" + local)
		if err != nil {
			t.Fatal(err)
		}
		c.Port, c.VNI = port, vni
		e, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		return e
	}
	return open("127.0.0.1", "127.0.0.2"), open("127.0.0.2", "127.0.0.1"), port
}

func eth(dst, src byte, payload string, size int) []byte {
	f := []byte{2, 0, 0, 0, 0, dst, 2, 0, 0, 0, 0, src, 0x08, 0x00}
	if dst == 0xff {
		copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	}
	f = append(f, payload...)
	for len(f) < size {
		f = append(f, byte(len(f)))
	}
	return f
}

func write(t testing.TB, e transports.Endpoint, ps ...[]byte) {
	t.Helper()
	b := frames.GetBatch()
	for _, p := range ps {
		b.Add(frames.GetCopy(p))
	}
	defer b.Release()
	if err := e.WriteBatch(b); err != nil {
		t.Fatal(err)
	}
}

// read returns the next frames from e, or fails after d.
func read(t testing.TB, e transports.Endpoint, d time.Duration) [][]byte {
	t.Helper()
	b := frames.GetBatch()
	defer b.Release()
	done := make(chan error, 1)
	go func() { done <- e.ReadBatch(b) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(d):
		e.Close()
		<-done
		t.Fatal("no frame")
	}
	var out [][]byte
	for _, f := range b.Slice() {
		out = append(out, append([]byte(nil), f.Bytes()...))
	}
	return out
}

// rawSocket is a plain UDP socket standing for another VXLAN device.
type rawSocket struct {
	fd   int
	port uint16
}

func newRaw(t testing.TB, addr string, port uint16) *rawSocket {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: int(port), Addr: netip.MustParseAddr(addr).As4()}); err != nil {
		t.Fatal(err)
	}
	tv := unix.Timeval{Sec: 3}
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	sa, _ := unix.Getsockname(fd)
	return &rawSocket{fd: fd, port: uint16(sa.(*unix.SockaddrInet4).Port)}
}

func (r *rawSocket) send(t testing.TB, p []byte, addr string, port uint16) {
	t.Helper()
	if err := unix.Sendto(r.fd, p, 0, &unix.SockaddrInet4{Port: int(port), Addr: netip.MustParseAddr(addr).As4()}); err != nil {
		t.Fatal(err)
	}
}

func (r *rawSocket) recv(t testing.TB) ([]byte, netip.AddrPort) {
	t.Helper()
	buf := make([]byte, 70000)
	n, from, err := unix.Recvfrom(r.fd, buf, 0)
	if err != nil {
		t.Fatalf("raw receive: %v", err)
	}
	sa := from.(*unix.SockaddrInet4)
	return buf[:n], netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
}

func TestPairJumbo(t *testing.T) {
	a, b, _ := pair(t, 7)
	if a.MaxFrame() != 65499 {
		t.Fatalf("MaxFrame %d, want what UDP over IPv4 carries (65499)", a.MaxFrame())
	}
	frs := [][]byte{eth(0xff, 1, "bcast", 60), eth(2, 1, "jumbo", 9000), eth(2, 1, "max", 65499)}
	write(t, a, frs...)
	var got [][]byte
	for len(got) < len(frs) {
		got = append(got, read(t, b, 3*time.Second)...)
	}
	for i := range frs {
		if !bytes.Equal(got[i], frs[i]) {
			t.Fatalf("frame %d: %d bytes, want %d", i, len(got[i]), len(frs[i]))
		}
	}
	if !strings.HasPrefix(a.Describe(), "vxlan://127.0.0.2:") || !strings.HasSuffix(a.Describe(), "/vni=7") {
		t.Fatalf("Describe %q", a.Describe())
	}
}

// Learning as vdeplug means it but does not do it: the sender's address at
// the configured port (kernels send from random ports), used for unicast.
func TestLearnSendsUnicastToPort(t *testing.T) {
	port := freePort(t)
	c, err := ParseVNL("127.0.0.9/bind=127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	c.Port = port
	e, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.LocalPort() != port {
		t.Fatalf("bound to port %d, want %d", e.LocalPort(), port)
	}
	kernel := newRaw(t, "127.0.0.3", 0)    // sends from a random port...
	listen := newRaw(t, "127.0.0.3", port) // ...and listens on the VXLAN port
	h := vxnet.NewHeader(1)
	in := eth(0xff, 0x33, "arp who-has", 60)
	kernel.send(t, vxnet.Append(nil, h, in), "127.0.0.1", port)
	if got := read(t, e, 3*time.Second); len(got) != 1 || !bytes.Equal(got[0], in) {
		t.Fatalf("got %x", got)
	}
	p, ok := e.Lookup(frames.MAC{2, 0, 0, 0, 0, 0x33})
	if !ok || p.AddrPort() != netip.AddrPortFrom(netip.MustParseAddr("127.0.0.3"), port) {
		t.Fatalf("learned %v %v, want 127.0.0.3 at port %d", p, ok, port)
	}
	reply := eth(0x33, 1, "arp reply", 60)
	write(t, e, reply)
	pkt, from := listen.recv(t)
	if from.Port() != port || from.Addr() != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("reply came from %v, want the VXLAN port %d", from, port)
	}
	if k, f := (vxnet.Match{Want: h, Exact: true}).Parse(pkt); k != vxnet.KindFrame || !bytes.Equal(f, reply) {
		t.Fatalf("reply datagram %x", pkt)
	}
	// An unknown MAC goes to the flood address (here the unicast peer).
	flood := newRaw(t, "127.0.0.9", port)
	unknown := eth(0x44, 1, "unknown", 60)
	write(t, e, unknown)
	if pkt, _ := flood.recv(t); !bytes.Equal(pkt[vxnet.HeaderLen:], unknown) {
		t.Fatalf("flooded datagram %x", pkt)
	}
}

func TestHeaderChecks(t *testing.T) {
	port := freePort(t)
	c, _ := ParseVNL("127.0.0.9/bind=127.0.0.1/vni=5")
	c.Port = port
	e, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	r := newRaw(t, "127.0.0.3", 0)
	fr := eth(0xff, 1, "x", 60)
	other := vxnet.NewHeader(6)
	noI := vxnet.NewHeader(5)
	noI[0] = 0
	reserved := vxnet.NewHeader(5)
	reserved[1], reserved[7] = 0xaa, 0xbb // RFC 7348: ignored on receipt
	r.send(t, vxnet.Append(nil, other, fr), "127.0.0.1", port)
	r.send(t, vxnet.Append(nil, noI, fr), "127.0.0.1", port)
	r.send(t, vxnet.Append(nil, vxnet.NewHeader(5), fr[:10]), "127.0.0.1", port)
	r.send(t, vxnet.Append(nil, reserved, fr), "127.0.0.1", port)
	got := read(t, e, 3*time.Second)
	if len(got) != 1 || !bytes.Equal(got[0], fr) {
		t.Fatalf("got %d frames", len(got))
	}
	if s := e.Stats(); s.Foreign != 2 || s.Runts != 1 || s.Rx.Frames != 1 {
		t.Fatalf("stats %+v", s)
	}
	if w, r := e.Drops(); w != 0 || r != 1 {
		t.Fatalf("drops %d %d", w, r)
	}
}

func TestSecondInstanceFails(t *testing.T) {
	a, _, port := pair(t, 1)
	_ = a
	c, _ := ParseVNL("127.0.0.2/bind=127.0.0.1")
	c.Port = port
	_, err := New(c)
	if err == nil || !strings.Contains(err.Error(), "vxlan: bind 127.0.0.1:") || !strings.Contains(err.Error(), "Address already in use") {
		t.Fatalf("second endpoint on the same port: %v", err)
	}
	var se *vxnet.SocketError
	if !errors.As(err, &se) {
		t.Fatalf("error type %T", err)
	}
	if errno, ok := se.Errno(); !ok || errno != unix.EADDRINUSE {
		t.Fatalf("errno %v", errno)
	}
}

func TestClose(t *testing.T) {
	a, _, _ := pair(t, 1)
	done := make(chan error, 1)
	go func() {
		b := frames.GetBatch()
		done <- a.ReadBatch(b)
		b.Release()
	}()
	time.Sleep(20 * time.Millisecond)
	a.Close()
	select {
	case err := <-done:
		if !errors.Is(err, transports.ErrClosed) {
			t.Fatalf("ReadBatch: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Close did not unblock ReadBatch")
	}
	b := frames.GetBatch()
	b.Add(frames.GetCopy(eth(1, 2, "x", 60)))
	defer b.Release()
	if err := a.WriteBatch(b); !errors.Is(err, transports.ErrClosed) {
		t.Fatalf("WriteBatch after Close: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	a, b, _ := pair(t, 1)
	// Learn both ways so that the path under test is unicast.
	write(t, a, eth(0xff, 1, "hello", 60))
	read(t, b, 3*time.Second)
	write(t, b, eth(1, 2, "hello", 60))
	read(t, a, 3*time.Second)
	in := frames.GetBatch()
	for i := 0; i < 8; i++ {
		in.Add(frames.GetCopy(eth(2, 1, "x", 60+i*200)))
	}
	defer in.Release()
	out := frames.GetBatch()
	cycle := func() {
		if err := a.WriteBatch(in); err != nil {
			t.Fatal(err)
		}
		for got := 0; got < in.N; {
			if err := b.ReadBatch(out); err != nil {
				t.Fatal(err)
			}
			got += out.N
			out.ReleaseFrames()
		}
	}
	for i := 0; i < 20; i++ {
		cycle()
	}
	if n := testing.AllocsPerRun(200, cycle); n != 0 {
		t.Fatalf("%v allocations per batch of %d frames", n, in.N)
	}
}
