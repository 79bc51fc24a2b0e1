package qemu

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/govde/govde/transports/vnl"
)

// QEMU's -netdev dgram over unix sockets: QEMU binds its local path (our
// REMOTE) and sends to its remote (our LOCAL), one frame per datagram.
func TestDgramUnix(t *testing.T) {
	dir := t.TempDir()
	ours, theirs := filepath.Join(dir, "vde.sock"), filepath.Join(dir, "vm.sock")
	q, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: theirs, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	e := open(t, "qemu-dgram", ours+"->"+theirs, vnl.Args{Mode: 0660}).(*UnixDgram)
	if fi, err := os.Lstat(ours); err != nil || fi.Mode().Perm() != 0660 {
		t.Fatalf("our socket: %v %v", fi, err)
	}
	if e.MaxFrame() != MaxFrame || e.Describe() != "qemu-dgram://"+ours+"->"+theirs {
		t.Fatalf("max %d describe %q", e.MaxFrame(), e.Describe())
	}
	to := &net.UnixAddr{Name: ours, Net: "unixgram"}
	for i, n := range []int{60, 1514, 9014, MaxFrame} {
		if _, err := q.WriteToUnix(eth(n, byte(i)), to); err != nil {
			t.Fatal(err)
		}
		got, err := readN(t, e, 1)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "from QEMU", got, eth(n, byte(i)))
		write(t, e, eth(n, byte(i+50)))
		buf := make([]byte, 70000)
		q.SetReadDeadline(time.Now().Add(3 * time.Second))
		m, err := q.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "to QEMU", [][]byte{buf[:m]}, eth(n, byte(i+50)))
	}
	e.Close()
	if _, err := os.Lstat(ours); !os.IsNotExist(err) {
		t.Fatal("the socket file survived Close")
	}
}

// Over UDP it is udp:// with QEMU's addresses.
func TestDgramUDP(t *testing.T) {
	q, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	probe, _ := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	ourPort := probe.LocalAddr().(*net.UDPAddr).Port
	probe.Close()
	arg := fmt.Sprintf("127.0.0.1:%d->%s", ourPort, q.LocalAddr())
	e := open(t, "qemu-dgram", arg, vnl.Args{})
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: ourPort}
	q.WriteToUDP(eth(1514, 1), to)
	got, err := readN(t, e, 1)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "from QEMU", got, eth(1514, 1))
	write(t, e, eth(9014, 2))
	buf := make([]byte, 70000)
	q.SetReadDeadline(time.Now().Add(3 * time.Second))
	m, from, err := q.ReadFromUDP(buf)
	if err != nil || from.Port != ourPort {
		t.Fatalf("QEMU read from %v: %v", from, err)
	}
	same(t, "to QEMU", [][]byte{buf[:m]}, eth(9014, 2))
	// An ephemeral local port works too (QEMU learns nothing from it, but
	// may be told with remote.port).
	open(t, "qemu-dgram", fmt.Sprintf("->%s", q.LocalAddr()), vnl.Args{})
}

func TestDgramErrors(t *testing.T) {
	for _, c := range []struct {
		arg   string
		errno syscall.Errno
		text  string
	}{
		{"/a", syscall.EINVAL, `Invalid argument: "/a" has no REMOTE: the syntax is qemu-dgram://[LOCAL]->REMOTE, each a socket path or HOST:PORT`},
		{"->/tmp/x", syscall.EINVAL, "Invalid argument: missing LOCAL socket path (where QEMU sends): the syntax is qemu-dgram://[LOCAL]->REMOTE, each a socket path or HOST:PORT"},
		{"/tmp/a->127.0.0.1:5", syscall.EINVAL, "Invalid argument: LOCAL /tmp/a is a socket path but REMOTE 127.0.0.1:5 is HOST:PORT: both must be of one kind"},
		{"127.0.0.1:5->/tmp/b", syscall.EINVAL, "Invalid argument: LOCAL 127.0.0.1:5 is HOST:PORT but REMOTE /tmp/b is a socket path: both must be of one kind"},
		{"/nonexistent-dir/a->/tmp/b", syscall.ENOENT, "No such file or directory: cannot bind /nonexistent-dir/a"},
	} {
		_, err := OpenDgram(c.arg, vnl.Args{})
		if !errors.Is(err, c.errno) || err.Error() != c.text {
			t.Errorf("%q: %v\n want %q", c.arg, err, c.text)
		}
	}
}
