package udp

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/vnl"
)

func TestParseSpec(t *testing.T) {
	for _, c := range []struct {
		arg  string
		want Spec
		err  string
	}{
		{"5000->127.0.0.1:5001", Spec{"", "5000", "127.0.0.1", "5001"}, ""},
		{"127.0.0.1:5000->127.0.0.1:5001", Spec{"127.0.0.1", "5000", "127.0.0.1", "5001"}, ""},
		{":5000->localhost:domain", Spec{"", "5000", "localhost", "domain"}, ""},
		{"::1:5000->::1:5001", Spec{"::1", "5000", "::1", "5001"}, ""},
		{"fe80::1%lo:5000->fe80::2%lo:5001", Spec{"fe80::1%lo", "5000", "fe80::2%lo", "5001"}, ""},
		{"5000->a->b:1", Spec{"", "5000", "a->b", "1"}, ""},
		{"5000", Spec{}, `Invalid argument: "5000" has no "->": the syntax is udp://[SRCADDR:]SRCPORT->DSTADDR:DSTPORT`},
		{"5000->127.0.0.1", Spec{}, `Invalid argument: destination "127.0.0.1" has no port: the syntax is udp://[SRCADDR:]SRCPORT->DSTADDR:DSTPORT`},
		{"5000->:5001", Spec{}, `Invalid argument: missing destination address in "5000->:5001"`},
		{"5000->h:", Spec{}, `Invalid argument: missing destination port in "5000->h:"`},
		{"->h:1", Spec{}, `Invalid argument: missing source port in "->h:1"`},
	} {
		got, err := ParseSpec(c.arg)
		if c.err != "" {
			if err == nil || err.Error() != c.err || !errors.Is(err, syscall.EINVAL) {
				t.Errorf("%q: error %v, want %q", c.arg, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: %+v %v, want %+v", c.arg, got, err, c.want)
		}
	}
}

// freePort returns a UDP port free on 127.0.0.1 and ::1 right now.
func freePort(t *testing.T) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		p := c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		if c6, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback, Port: p}); err == nil {
			c6.Close()
			return p
		}
	}
	t.Fatal("no free port")
	return 0
}

func open(t *testing.T, arg string, max int) *Endpoint {
	t.Helper()
	ep, err := Open(arg, vnl.Args{MaxFrame: max})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	return ep.(*Endpoint)
}

func eth(n int, seed byte) []byte {
	f := make([]byte, n)
	copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, seed, 0x88, 0xb5})
	for i := 14; i < n; i++ {
		f[i] = seed ^ byte(i)
	}
	return f
}

func roundTrip(t *testing.T, from, to transports.Endpoint, f []byte) {
	t.Helper()
	b := frames.GetBatch()
	b.Add(frames.GetCopy(f))
	if err := from.WriteBatch(b); err != nil {
		t.Fatal(err)
	}
	b.Release()
	got := make(chan []byte, 1)
	go func() {
		r := frames.GetBatch()
		defer r.Release()
		if to.ReadBatch(r) == nil && r.N > 0 {
			got <- append([]byte(nil), r.Frames[0].Bytes()...)
		}
		close(got)
	}()
	select {
	case g := <-got:
		if !bytes.Equal(g, f) {
			t.Fatalf("%d bytes sent, %d received", len(f), len(g))
		}
	case <-time.After(3 * time.Second):
		to.Close()
		t.Fatalf("%d-byte frame lost", len(f))
	}
}

// Two ends of udp://, over IPv4 and IPv6, carry every size up to the
// medium's limit both ways.
func TestCableUpToMaxUDP(t *testing.T) {
	for _, c := range []struct {
		host  string
		limit int
	}{{"127.0.0.1", MaxFrame4}, {"::1", MaxFrame6}} {
		pa, pb := freePort(t), freePort(t)
		a := open(t, fmt.Sprintf("%s:%d->%s:%d", c.host, pa, c.host, pb), 0)
		b := open(t, fmt.Sprintf("%d->%s:%d", pb, c.host, pa), 0)
		if a.MaxFrame() != c.limit || !a.WriteNeverBlocks() {
			t.Fatalf("%s: MaxFrame %d", c.host, a.MaxFrame())
		}
		if a.Describe() != fmt.Sprintf("udp://%s:%d->%s:%d", c.host, pa, c.host, pb) {
			t.Fatalf("Describe %q", a.Describe())
		}
		for i, n := range []int{60, 1514, 9014, c.limit} {
			roundTrip(t, a, b, eth(n, byte(i)))
			roundTrip(t, b, a, eth(n, byte(i+100)))
		}
		if b.RemoteAddr().Port != pa || b.LocalAddr().Port != pb {
			t.Fatalf("addresses %v %v", b.LocalAddr(), b.RemoteAddr())
		}
	}
}

// a.MaxFrame lowers the read limit: longer datagrams are truncated.
func TestMaxFrameArg(t *testing.T) {
	pa, pb := freePort(t), freePort(t)
	a := open(t, fmt.Sprintf("127.0.0.1:%d->127.0.0.1:%d", pa, pb), 0)
	b := open(t, fmt.Sprintf("127.0.0.1:%d->127.0.0.1:%d", pb, pa), 1518)
	if b.MaxFrame() != 1518 {
		t.Fatalf("MaxFrame %d", b.MaxFrame())
	}
	f := eth(4000, 3)
	w := frames.GetBatch()
	w.Add(frames.GetCopy(f))
	a.WriteBatch(w)
	w.Release()
	r := frames.GetBatch()
	defer r.Release()
	if err := b.ReadBatch(r); err != nil || r.N != 1 || !bytes.Equal(r.Frames[0].Bytes(), f[:1518]) {
		t.Fatalf("read %v, %d frames", err, r.N)
	}
}

func TestOpenErrors(t *testing.T) {
	busy, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	bp := busy.LocalAddr().(*net.UDPAddr).Port
	for _, c := range []struct {
		arg   string
		errno syscall.Errno
		text  string
	}{
		{"5000->nosuch.invalid:1", syscall.ECONNABORTED, "Software caused connection abort: cannot resolve destination nosuch.invalid:1:"},
		{"5000->127.0.0.1:nosuchservice", syscall.ECONNABORTED, "Software caused connection abort: cannot resolve destination 127.0.0.1:nosuchservice:"},
		{"::1:5000->127.0.0.1:1", syscall.ECONNABORTED, "Software caused connection abort: cannot resolve source ::1:5000 as 4:"},
		{fmt.Sprintf("127.0.0.1:%d->127.0.0.1:1", bp), syscall.EADDRINUSE, fmt.Sprintf("Address already in use: cannot bind UDP 127.0.0.1:%d", bp)},
		{"192.0.2.1:5000->127.0.0.1:1", syscall.EADDRNOTAVAIL, "Cannot assign requested address: cannot bind UDP 192.0.2.1:5000"},
		{"5000->fe80::1%nosuchif0:1", syscall.ENODEV, `No such device: no interface "nosuchif0" (in address fe80::1%nosuchif0)`},
	} {
		_, err := Open(c.arg, vnl.Args{})
		if err == nil || !errors.Is(err, c.errno) || !strings.HasPrefix(err.Error(), c.text) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: %v, want %q…", c.arg, err, c.text)
		}
	}
}
