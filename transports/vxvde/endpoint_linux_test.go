package vxvde

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/internal/netnstest"
	"github.com/govde/govde/transports/internal/vxnet"
)

// members opens n members with VNL vnl inside ns.
func members(t *testing.T, ns *netnstest.NS, vnl string, n int) []*Endpoint {
	t.Helper()
	var out []*Endpoint
	var err error
	ns.Do(t, func() {
		for i := 0; i < n && err == nil; i++ {
			var c Config
			if c, err = ParseVNL(vnl); err != nil {
				return
			}
			var e *Endpoint
			if e, err = New(c); err == nil {
				out = append(out, e)
			}
		}
	})
	for _, e := range out {
		t.Cleanup(func() { e.Close() })
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func eth(dst, src byte, payload string) []byte {
	f := []byte{2, 0, 0, 0, 0, dst, 2, 0, 0, 0, 0, src, 0x08, 0x00}
	if dst == 0xff {
		copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	}
	return append(f, payload...)
}

func write(t testing.TB, e transports.Endpoint, p []byte) {
	t.Helper()
	b := frames.GetBatch()
	b.Add(frames.GetCopy(p))
	defer b.Release()
	if err := e.WriteBatch(b); err != nil {
		t.Fatal(err)
	}
}

// reader collects what an endpoint reads.
type reader struct{ c chan []byte }

func collect(e transports.Endpoint) *reader {
	r := &reader{c: make(chan []byte, 64)}
	go func() {
		for {
			b := frames.GetBatch()
			err := e.ReadBatch(b)
			for _, f := range b.Slice() {
				r.c <- append([]byte(nil), f.Bytes()...)
			}
			b.Release()
			if err != nil {
				close(r.c)
				return
			}
		}
	}()
	return r
}

func (r *reader) expect(t testing.TB, name string, want []byte) {
	t.Helper()
	select {
	case got := <-r.c:
		if !bytes.Equal(got, want) {
			t.Fatalf("%s got %q, want %q", name, got, want)
		}
	case <-time.After(3 * time.Second):
		t.Fatalf("%s got nothing, want %q", name, want)
	}
}

func (r *reader) quiet(t testing.TB, name string) {
	t.Helper()
	select {
	case got, ok := <-r.c:
		if ok {
			t.Fatalf("%s unexpectedly got %q", name, got)
		}
	case <-time.After(200 * time.Millisecond):
	}
}

// Three members on one host: multicast reaches the others and not the
// sender (own echo filtered), unicast goes to the owner only, a goodbye
// makes the others forget the leaver, and another VNI hears nothing.
func TestMembers(t *testing.T) {
	ns := netnstest.New(t)
	m := members(t, ns, "", 3)
	other := members(t, ns, "/vni=2", 1)[0]
	r := []*reader{collect(m[0]), collect(m[1]), collect(m[2])}
	ro := collect(other)

	write(t, m[0], eth(0xff, 1, "hello from 1"))
	r[1].expect(t, "member 2", eth(0xff, 1, "hello from 1"))
	r[2].expect(t, "member 3", eth(0xff, 1, "hello from 1"))
	r[0].quiet(t, "sender (own echo)")
	ro.quiet(t, "VNI 2")
	if s := m[0].Stats(); s.Echoes == 0 {
		t.Fatalf("no own echo counted: %+v", s)
	}
	// Member 2 learned member 1 at its uniport.
	p, ok := m[1].Lookup(frames.MAC{2, 0, 0, 0, 0, 1})
	if !ok || p.Port != m[0].UniPort() || p.Port == DefaultPort {
		t.Fatalf("member 2 learned %v %v, want member 1's uniport %d", p, ok, m[0].UniPort())
	}
	write(t, m[1], eth(1, 2, "unicast 2->1"))
	r[0].expect(t, "member 1", eth(1, 2, "unicast 2->1"))
	r[2].quiet(t, "member 3 (unicast to 1)")
	if s := m[1].Stats(); s.Tx.Frames != 1 {
		t.Fatalf("member 2 stats %+v", s)
	}

	write(t, m[2], eth(0xff, 3, "hello from 3"))
	r[0].expect(t, "member 1", eth(0xff, 3, "hello from 3"))
	r[1].expect(t, "member 2", eth(0xff, 3, "hello from 3"))
	if _, ok := m[0].Lookup(frames.MAC{2, 0, 0, 0, 0, 3}); !ok {
		t.Fatal("member 3 not learned")
	}
	m[2].Close()
	deadline := time.Now().Add(3 * time.Second)
	for {
		_, ok := m[0].Lookup(frames.MAC{2, 0, 0, 0, 0, 3})
		if !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("member 1 did not forget member 3 after its goodbye")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if m[0].Stats().Goodbyes == 0 {
		t.Fatal("goodbye not counted")
	}
	write(t, other, eth(0xff, 9, "vni 2"))
	for i := 0; i < 2; i++ {
		r[i].quiet(t, "VNI 1 member")
	}
}

// observer is a plain socket joined to the group on the port, with TTLs.
type observer struct{ fd int }

func observe(t *testing.T, ns *netnstest.NS, group string, port int) *observer {
	t.Helper()
	o := &observer{fd: -1}
	var err error
	ns.Do(t, func() {
		if o.fd, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0); err != nil {
			return
		}
		unix.SetsockoptInt(o.fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		unix.SetsockoptInt(o.fd, unix.IPPROTO_IP, unix.IP_RECVTTL, 1)
		tv := unix.Timeval{Sec: 3}
		unix.SetsockoptTimeval(o.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
		g := netip.MustParseAddr(group).As4()
		if err = unix.Bind(o.fd, &unix.SockaddrInet4{Port: port, Addr: g}); err != nil {
			return
		}
		err = unix.SetsockoptIPMreqn(o.fd, unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP, &unix.IPMreqn{Multiaddr: g})
	})
	if o.fd >= 0 {
		t.Cleanup(func() { unix.Close(o.fd) })
	}
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// next returns the next datagram, its source port and TTL.
func (o *observer) next(t *testing.T) ([]byte, int, int) {
	t.Helper()
	buf, oob := make([]byte, 70000), make([]byte, 64)
	n, oobn, _, from, err := unix.Recvmsg(o.fd, buf, oob, 0)
	if err != nil {
		t.Fatalf("observer: %v", err)
	}
	ttl := -1
	if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
		for _, m := range msgs {
			if m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_TTL && len(m.Data) >= 1 {
				ttl = int(m.Data[0])
			}
		}
	}
	return buf[:n], from.(*unix.SockaddrInet4).Port, ttl
}

// The wire: header 08 00 00 00 | VNI | 00, sent from the uniport with the
// TTL asked for, and an 8-byte goodbye on close.
func TestWire(t *testing.T) {
	ns := netnstest.New(t)
	o := observe(t, ns, "239.0.0.1", DefaultPort)
	m := members(t, ns, "/vni=258/ttl=3", 1)[0]
	f := eth(0xff, 1, "on the wire")
	write(t, m, f)
	pkt, sport, ttl := o.next(t)
	if want := append([]byte{8, 0, 0, 0, 0, 1, 2, 0}, f...); !bytes.Equal(pkt, want) {
		t.Fatalf("datagram % x, want % x", pkt, want)
	}
	if sport != int(m.UniPort()) || ttl != 3 {
		t.Fatalf("source port %d (uniport %d), TTL %d (want 3)", sport, m.UniPort(), ttl)
	}
	m.Close()
	pkt, sport, _ = o.next(t)
	if !bytes.Equal(pkt, []byte{8, 0, 0, 0, 0, 1, 2, 0}) || sport != int(m.UniPort()) {
		t.Fatalf("goodbye % x from port %d", pkt, sport)
	}
}

// A sender that addresses this host at the port (as a kernel vxlan device
// with dstport 14789 does) is heard, and answered at that port.
func TestAnswersUnicastAtPort(t *testing.T) {
	ns := netnstest.New(t)
	m := members(t, ns, "", 1)[0]
	r := collect(m)
	var fd int
	var err error
	ns.Do(t, func() {
		if fd, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0); err != nil {
			return
		}
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		err = unix.Bind(fd, &unix.SockaddrInet4{Port: DefaultPort, Addr: [4]byte{127, 0, 0, 5}})
	})
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	tv := unix.Timeval{Sec: 3}
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	h := vxnet.NewHeader(1)
	in := eth(0xff, 0x55, "from a kernel")
	if err := unix.Sendto(fd, vxnet.Append(nil, h, in), 0, &unix.SockaddrInet4{Port: DefaultPort, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	r.expect(t, "member", in)
	p, ok := m.Lookup(frames.MAC{2, 0, 0, 0, 0, 0x55})
	if !ok || p.AddrPort() != netip.MustParseAddrPort("127.0.0.5:14789") {
		t.Fatalf("learned %v %v, want 127.0.0.5:14789", p, ok)
	}
	out := eth(0x55, 1, "answer")
	write(t, m, out)
	buf := make([]byte, 2000)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		t.Fatalf("no answer at the port: %v", err)
	}
	if !bytes.Equal(buf[:n], vxnet.Append(nil, h, out)) {
		t.Fatalf("answer % x", buf[:n])
	}
}

func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	ns := netnstest.New(t)
	// Learn both ways: the path under test is unicast between uniports.
	a := members(t, ns, "/vni=3", 2)
	write(t, a[0], eth(0xff, 1, "x"))
	in := frames.GetBatch()
	for i := 0; i < 8; i++ {
		in.Add(frames.GetCopy(eth(2, 1, "payload")))
	}
	defer in.Release()
	out := frames.GetBatch()
	if err := a[1].ReadBatch(out); err != nil {
		t.Fatal(err)
	}
	out.ReleaseFrames()
	write(t, a[1], eth(1, 2, "learn me"))
	if err := a[0].ReadBatch(out); err != nil {
		t.Fatal(err)
	}
	out.ReleaseFrames()
	cycle := func() {
		if err := a[0].WriteBatch(in); err != nil {
			t.Fatal(err)
		}
		for got := 0; got < in.N; {
			if err := a[1].ReadBatch(out); err != nil {
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

func TestMembersV6(t *testing.T) {
	ns := netnstest.New(t)
	m := members(t, ns, "/v6", 2)
	r := []*reader{collect(m[0]), collect(m[1])}
	write(t, m[0], eth(0xff, 1, "v6 hello"))
	r[1].expect(t, "member 2", eth(0xff, 1, "v6 hello"))
	r[0].quiet(t, "sender (own echo)")
	write(t, m[1], eth(1, 2, "v6 unicast"))
	r[0].expect(t, "member 1", eth(1, 2, "v6 unicast"))
	if p, ok := m[1].Lookup(frames.MAC{2, 0, 0, 0, 0, 1}); !ok || p.Is4() || p.Port != m[0].UniPort() {
		t.Fatalf("learned %v %v", p, ok)
	}
}
