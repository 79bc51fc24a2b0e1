package lazydgram

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/frames"
)

func udpSocket(t *testing.T) (int, *unix.SockaddrInet4) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	// An explicit port, as udp:// always has: a socket bound to port 0
	// loses its port when it is disconnected.
	probe := raw(t)
	port := probe.LocalAddr().(*net.UDPAddr).Port
	probe.Close()
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fd, sa.(*unix.SockaddrInet4)
}

// raw is a plain UDP socket on 127.0.0.1 (the test's other parties).
func raw(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func eth(tag byte) []byte {
	return append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, tag, 0x08, 0x00}, bytes.Repeat([]byte{tag}, 50)...)
}

// reader runs ReadBatch in the background and hands over what it reads.
func reader(c *Conn) <-chan []byte {
	ch := make(chan []byte, 64)
	go func() {
		defer close(ch)
		for {
			b := frames.GetBatch()
			err := c.ReadBatch(b)
			for _, f := range b.Slice() {
				ch <- append([]byte(nil), f.Bytes()...)
			}
			b.Release()
			if err != nil {
				return
			}
		}
	}()
	return ch
}

func expect(t *testing.T, ch <-chan []byte, want []byte, what string) {
	t.Helper()
	select {
	case got := <-ch:
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: got % x", what, got)
		}
	case <-time.After(2 * time.Second):
		t.Fatalf("%s: nothing arrived", what)
	}
}

func quiet(t *testing.T, ch <-chan []byte, what string) {
	t.Helper()
	select {
	case got := <-ch:
		t.Fatalf("%s: unexpected % x", what, got)
	case <-time.After(150 * time.Millisecond):
	}
}

func send(t *testing.T, c *Conn, p []byte) {
	t.Helper()
	b := frames.GetBatch()
	b.Add(frames.GetCopy(p))
	defer b.Release()
	if err := c.WriteBatch(b); err != nil {
		t.Fatal(err)
	}
}

// The vdeplug udp:// semantics, step by step (spec §2.4).
func TestLazyConnectAndReset(t *testing.T) {
	peer, stranger := raw(t), raw(t)
	pa := peer.LocalAddr().(*net.UDPAddr)
	fd, self := udpSocket(t)
	c, err := New(fd, Config{Peer: &unix.SockaddrInet4{Port: pa.Port, Addr: [4]byte{127, 0, 0, 1}}, ResetOnEmpty: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ch := reader(c)
	me := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: self.Port}

	// Before its first send it accepts anyone.
	stranger.WriteToUDP(eth(1), me)
	expect(t, ch, eth(1), "before the first send, from a stranger")
	if c.Connected() {
		t.Fatal("connected before sending")
	}
	// The first send connects to the peer.
	send(t, c, eth(2))
	buf := make([]byte, 100)
	peer.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, _, err := peer.ReadFromUDP(buf); err != nil || !bytes.Equal(buf[:n], eth(2)) {
		t.Fatalf("peer got % x, %v", buf[:n], err)
	}
	if !c.Connected() || c.Connects() != 1 {
		t.Fatal("not connected after sending")
	}
	// Now only the peer gets through.
	stranger.WriteToUDP(eth(3), me)
	quiet(t, ch, "connected, from a stranger")
	peer.WriteToUDP(eth(4), me)
	expect(t, ch, eth(4), "connected, from the peer")
	// A zero-length datagram disconnects: anyone again.
	peer.WriteToUDP(nil, me)
	waitFor(t, func() bool { return !c.Connected() }, "reset by a zero-length datagram")
	stranger.WriteToUDP(eth(5), me)
	expect(t, ch, eth(5), "after the reset, from a stranger")
	if c.Resets() != 1 {
		t.Fatalf("resets %d", c.Resets())
	}
	// The next send reconnects.
	send(t, c, eth(6))
	if n, _, err := peer.ReadFromUDP(buf); err != nil || !bytes.Equal(buf[:n], eth(6)) {
		t.Fatalf("peer got % x, %v", buf[:n], err)
	}
	if !c.Connected() || c.Connects() != 2 {
		t.Fatal("no reconnection")
	}
}

func TestNoReset(t *testing.T) {
	peer := raw(t)
	pa := peer.LocalAddr().(*net.UDPAddr)
	fd, self := udpSocket(t)
	c, err := New(fd, Config{Peer: &unix.SockaddrInet4{Port: pa.Port, Addr: [4]byte{127, 0, 0, 1}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ch := reader(c)
	send(t, c, eth(1))
	me := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: self.Port}
	peer.WriteToUDP(nil, me)
	peer.WriteToUDP(eth(2), me)
	expect(t, ch, eth(2), "from the peer")
	if !c.Connected() || c.Resets() != 0 {
		t.Fatal("disconnected without ResetOnEmpty")
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
	}
}

// A unix peer that dies and comes back at the same path is found again.
func TestUnixPeerRestart(t *testing.T) {
	dir := t.TempDir()
	ppath := filepath.Join(dir, "peer")
	listen := func() *net.UnixConn {
		c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: ppath, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	p1 := listen()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.Bind(fd, &unix.SockaddrUnix{Name: filepath.Join(dir, "self")})
	c, err := New(fd, Config{Peer: &unix.SockaddrUnix{Name: ppath}, ResetOnEmpty: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 100)
	send(t, c, eth(1))
	p1.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := p1.Read(buf); err != nil || !bytes.Equal(buf[:n], eth(1)) {
		t.Fatalf("first peer got % x, %v", buf[:n], err)
	}
	p1.Close()
	os.Remove(ppath)
	send(t, c, eth(2)) // ECONNREFUSED: lost, socket disconnected
	if c.Connected() {
		t.Fatal("still connected to a dead peer")
	}
	send(t, c, eth(3)) // nobody at the path: dropped and counted
	if w, _ := c.Drops(); w < 2 {
		t.Fatalf("drops %d", w)
	}
	p2 := listen()
	defer p2.Close()
	send(t, c, eth(4))
	p2.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := p2.Read(buf); err != nil || !bytes.Equal(buf[:n], eth(4)) {
		t.Fatalf("restarted peer got % x, %v", buf[:n], err)
	}
}

func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under -race")
	}
	fa, sa := udpSocket(t)
	fb, sb := udpSocket(t)
	a, err := New(fa, Config{Peer: sb, ResetOnEmpty: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := New(fb, Config{Peer: sa, ResetOnEmpty: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	out := frames.GetBatch()
	for i := 0; i < 16; i++ {
		out.Add(frames.GetCopy(eth(byte(i))))
	}
	defer out.Release()
	in := frames.GetBatch()
	defer in.Release()
	cycle := func() {
		a.WriteBatch(out)
		for n := 0; n < out.N; {
			if err := b.ReadBatch(in); err != nil {
				t.Fatal(err)
			}
			n += in.N
			in.ReleaseFrames()
		}
	}
	for i := 0; i < 5; i++ {
		cycle()
	}
	if allocs := testing.AllocsPerRun(50, cycle); allocs != 0 {
		t.Fatalf("%.1f allocations per batch", allocs)
	}
}
