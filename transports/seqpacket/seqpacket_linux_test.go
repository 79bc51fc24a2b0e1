package seqpacket

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports/vnl"
)

func TestParseFD(t *testing.T) {
	for arg, want := range map[string]int{"3": 3, "0x10": 16, "010": 8, "0": 0, " 7": 7} {
		if got, err := ParseFD(arg); err != nil || got != want {
			t.Errorf("%q: %d %v, want %d", arg, got, err, want)
		}
	}
	for _, arg := range []string{"", "abc", "3x", "-1", "+3", "0x", "99999999999"} {
		_, err := ParseFD(arg)
		if !errors.Is(err, syscall.EINVAL) || err.Error() != fmt.Sprintf("Invalid argument: %q is not a file descriptor number: the syntax is seqpacket://FD", arg) {
			t.Errorf("%q: %v", arg, err)
		}
	}
}

func eth(n int, seed byte) []byte {
	f := make([]byte, n)
	copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, seed, 0x88, 0xb5})
	for i := 14; i < n; i++ {
		f[i] = seed ^ byte(i)
	}
	return f
}

// Two endpoints on a socketpair, as a parent would hand them to two
// plugs: frames up to 64 KiB both ways, then the end.
func TestSocketpair(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET, 0)
	if err != nil {
		t.Fatal(err)
	}
	ea, err := Open(fmt.Sprint(fds[0]), vnl.Args{})
	if err != nil {
		t.Fatal(err)
	}
	defer ea.Close()
	eb, err := Open(fmt.Sprintf("%#x", fds[1]), vnl.Args{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := ea.(*Endpoint), eb.(*Endpoint)
	if a.MaxFrame() != MaxFrame || a.WriteNeverBlocks() || a.Describe() != fmt.Sprintf("seqpacket://%d", fds[0]) {
		t.Fatalf("max %d, never blocks %v, describe %q", a.MaxFrame(), a.WriteNeverBlocks(), a.Describe())
	}
	sizes := []int{60, 1514, 9014, MaxFrame}
	w := frames.GetBatch()
	for i, n := range sizes {
		w.Add(frames.GetCopy(eth(n, byte(i))))
	}
	w.Add(frames.Get(0)) // never sent: it would read as the end
	if err := a.WriteBatch(w); err != nil {
		t.Fatal(err)
	}
	w.Release()
	var got [][]byte
	for len(got) < len(sizes) {
		r := frames.GetBatch()
		if err := b.ReadBatch(r); err != nil {
			t.Fatal(err)
		}
		for _, f := range r.Slice() {
			got = append(got, append([]byte(nil), f.Bytes()...))
		}
		r.Release()
	}
	for i, n := range sizes {
		if !bytes.Equal(got[i], eth(n, byte(i))) {
			t.Fatalf("frame %d: %d bytes", i, len(got[i]))
		}
	}
	b.Close()
	r := frames.GetBatch()
	defer r.Release()
	if err := a.ReadBatch(r); err != io.EOF {
		t.Fatalf("after the peer closed: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	var p [2]int
	if err := unix.Pipe(p[:]); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	dg, _ := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	defer unix.Close(dg)
	const closed = 999999 // far above anything this process opens
	for _, c := range []struct {
		fd    int
		errno syscall.Errno
		text  string
	}{
		{closed, syscall.EBADF, fmt.Sprintf("Bad file descriptor: file descriptor %d is not open", closed)},
		{p[0], syscall.ENOTSOCK, fmt.Sprintf("Socket operation on non-socket: file descriptor %d is not a socket", p[0])},
		{dg, syscall.EPROTOTYPE, fmt.Sprintf("Protocol wrong type for socket: file descriptor %d is a SOCK_DGRAM socket, not SOCK_SEQPACKET", dg)},
	} {
		_, err := Open(fmt.Sprint(c.fd), vnl.Args{})
		if !errors.Is(err, c.errno) || err.Error() != c.text {
			t.Errorf("fd %d: %v, want %q", c.fd, err, c.text)
		}
	}
	// The refused descriptors stay open for their owner.
	if _, err := unix.GetsockoptInt(dg, unix.SOL_SOCKET, unix.SO_TYPE); err != nil {
		t.Fatalf("a refused fd was closed: %v", err)
	}
}
