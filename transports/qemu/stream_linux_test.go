package qemu

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports/vnl"
)

// QEMU listens (server=on), we connect: frames both ways, every size up to
// 64 KiB, headers split byte by byte, runts and empty records skipped,
// and QEMU leaving ends the endpoint after the frames it sent.
func TestStreamClientRole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vm.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() { c, _ := ln.Accept(); accepted <- c }()
	e := open(t, "qemu-stream", path, vnl.Args{}).(*Stream)
	q := &fakeQEMU{t, <-accepted}
	defer q.c.Close()
	if e.MaxFrame() != MaxFrame || e.Describe() != "qemu-stream://"+path || !e.Connected() {
		t.Fatalf("max %d describe %q", e.MaxFrame(), e.Describe())
	}

	sizes := []int{60, 1514, 9014, MaxFrame}
	var want [][]byte
	for i, n := range sizes {
		want = append(want, eth(n, byte(i)))
	}
	write(t, e, want...)
	for i := range want {
		same(t, "QEMU got", [][]byte{q.recv()}, want[i])
	}

	// QEMU's frames, with a runt and an empty record between them, the
	// first ones byte by byte.
	in := framed(eth(60, 10), []byte("short"), eth(1514, 11), nil, eth(MaxFrame, 12))
	go func() { q.send(in[:200], 1); q.send(in[200:], 4096) }()
	got, err := readN(t, e, 3)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "we got", got, eth(60, 10), eth(1514, 11), eth(MaxFrame, 12))
	if _, r := e.Drops(); r != 1 {
		t.Fatalf("read drops %d, want 1 runt", r)
	}

	q.send(framed(eth(100, 13)), 1000)
	q.c.Close()
	got, err = readN(t, e, 2)
	if err != io.EOF {
		t.Fatalf("after QEMU left: %v", err)
	}
	same(t, "last frames", got, eth(100, 13))
	b := frames.GetBatch()
	b.Add(frames.GetCopy(eth(60, 14)))
	defer b.Release()
	if err := e.WriteBatch(b); err == nil {
		t.Fatal("writing after QEMU left succeeded")
	}
}

// We listen (QEMU has server=off), over TCP on 127.0.0.1: one QEMU at a
// time, the endpoint outlives it, a bad length drops that QEMU only.
func TestStreamServerRole(t *testing.T) {
	e := open(t, "qemu-stream", "127.0.0.1:0[listen]", vnl.Args{}).(*Stream)
	addr := e.Addr().String()
	dial := func() *fakeQEMU {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return &fakeQEMU{t, c}
	}
	// Nobody connected: dropped and counted.
	write(t, e, eth(60, 1))
	if w, _ := e.Drops(); w != 1 {
		t.Fatalf("write drops %d", w)
	}
	frameCh := make(chan [][]byte, 4)
	errCh := make(chan error, 1)
	go func() {
		for {
			b := frames.GetBatch()
			err := e.ReadBatch(b)
			var got [][]byte
			for _, f := range b.Slice() {
				got = append(got, append([]byte(nil), f.Bytes()...))
			}
			b.Release()
			if len(got) > 0 {
				frameCh <- got
			}
			if err != nil {
				errCh <- err
				return
			}
		}
	}()
	next := func() [][]byte {
		select {
		case g := <-frameCh:
			return g
		case <-time.After(3 * time.Second):
			t.Fatal("no frame")
			return nil
		}
	}
	q1 := dial()
	q1.send(framed(eth(64, 2)), 100)
	same(t, "from the first QEMU", next(), eth(64, 2))
	write(t, e, eth(9014, 3))
	same(t, "to the first QEMU", [][]byte{q1.recv()}, eth(9014, 3))
	q1.c.Close()

	q2 := dial()
	q2.send(framed(eth(64, 4)), 100)
	same(t, "from the second QEMU", next(), eth(64, 4))
	write(t, e, eth(60, 5))
	same(t, "to the second QEMU", [][]byte{q2.recv()}, eth(60, 5))

	// A length QEMU itself would refuse: that connection is dropped.
	q2.send([]byte{0, 1, 0x11, 0x70}, 4) // 70000
	q2.c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := q2.c.Read(make([]byte, 1)); err == nil {
		t.Fatal("the endpoint kept a connection after a bad length")
	}
	q3 := dial()
	q3.send(framed(eth(64, 6)), 100)
	same(t, "from the third QEMU", next(), eth(64, 6))
	if e.Accepted() != 3 || e.ProtocolErrors() != 1 {
		t.Fatalf("accepted %d, protocol errors %d", e.Accepted(), e.ProtocolErrors())
	}
	e.Close()
	select {
	case err := <-errCh:
		if err == nil || !strings.Contains(err.Error(), "closed") {
			t.Fatalf("ReadBatch after Close: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Close did not unblock ReadBatch")
	}
}

// A unix listening socket gets its mode, replaces a stale file, is removed
// at Close; an abstract one works too.
func TestStreamUnixListen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s")
	// A stale socket file from a dead process.
	ln, _ := net.Listen("unix", path)
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	e := open(t, "qemu-stream", path+"[listen/mode=0660]", vnl.Args{Mode: 0700})
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode().Perm() != 0660 {
		t.Fatalf("socket %v, %v", fi, err)
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	q := &fakeQEMU{t, c}
	q.send(framed(eth(64, 1)), 100)
	got, err := readN(t, e, 1)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "unix", got, eth(64, 1))
	c.Close()
	e.Close()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatal("the socket file survived Close")
	}

	name := fmt.Sprintf("@govde-qemu-test-%d", os.Getpid())
	a := open(t, "qemu-stream", name+"[l]", vnl.Args{})
	c, err = net.Dial("unix", name)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	(&fakeQEMU{t, c}).send(framed(eth(64, 2)), 100)
	got, err = readN(t, a, 1)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "abstract", got, eth(64, 2))
}

func TestStreamErrors(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, nil, 0644)
	live := filepath.Join(dir, "live")
	ln, err := net.Listen("unix", live)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, c := range []struct {
		arg   string
		errno syscall.Errno
		text  string
	}{
		{"/x[foo]", syscall.EINVAL, `Invalid argument: unknown option "foo" for qemu-stream (options: listen, mode=OCTAL, group=GROUP)`},
		{"/x[listen/mode=9]", syscall.EINVAL, "Invalid argument: mode=9 is not an octal permission"},
		{"", syscall.EINVAL, "Invalid argument: missing address: the syntax is qemu-stream://PATH or qemu-stream://HOST:PORT, [listen] to listen"},
		{"localhost", syscall.EINVAL, `Invalid argument: "localhost" is neither a socket path nor HOST:PORT: the syntax is qemu-stream://PATH or qemu-stream://HOST:PORT, [listen] to listen`},
		{"127.0.0.1:99999", syscall.EINVAL, `Invalid argument: bad port "99999" in "127.0.0.1:99999"`},
		{dir + "/nobody", syscall.ENOENT, "No such file or directory: cannot connect to unix " + dir + "/nobody (start QEMU first with -netdev stream,server=on,…, or let QEMU connect to us with [listen])"},
		{plain + "[listen]", syscall.EEXIST, "File exists: " + plain + " exists and is not a socket"},
		{live + "[listen]", syscall.EADDRINUSE, "Address already in use: " + live + " is in use by another process"},
		{"/x[listen/group=no-such-group-xyz]", syscall.EINVAL, `Invalid argument: no such group "no-such-group-xyz"`},
	} {
		_, err := OpenStream(c.arg, vnl.Args{})
		if !errors.Is(err, c.errno) || err.Error() != c.text {
			t.Errorf("%q: %v\n want %q", c.arg, err, c.text)
		}
	}
	// Nobody listening on a TCP port: refused.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	_, err = OpenStream(fmt.Sprintf("127.0.0.1:%d", port), vnl.Args{})
	if !errors.Is(err, syscall.ECONNREFUSED) || !strings.HasPrefix(err.Error(), "Connection refused: cannot connect to tcp 127.0.0.1:") {
		t.Fatalf("refused: %v", err)
	}
}

// The framing parser alone: every split of a stream of records gives the
// same frames.
func TestReaderEverySplit(t *testing.T) {
	in := framed(eth(60, 1), nil, []byte{1, 2, 3}, eth(100, 2), eth(1514, 3))
	want := [][]byte{eth(60, 1), eth(100, 2), eth(1514, 3)}
	for cut := 0; cut <= len(in); cut++ {
		var r reader
		r.buf = make([]byte, len(in))
		var got [][]byte
		for _, part := range [][]byte{in[:cut], in[cut:]} {
			r.pos, r.end = 0, copy(r.buf, part)
			b := frames.GetBatch()
			if err := r.parse(b, MaxFrame); err != nil {
				t.Fatal(err)
			}
			for _, f := range b.Slice() {
				got = append(got, append([]byte(nil), f.Bytes()...))
			}
			b.Release()
		}
		same(t, fmt.Sprintf("cut at %d", cut), got, want...)
		if r.runts != 1 {
			t.Fatalf("cut at %d: %d runts", cut, r.runts)
		}
	}
}

// Steady state: no allocation per frame on either path.
func TestStreamNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under -race")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() { c, _ := ln.Accept(); accepted <- c }()
	e := open(t, "qemu-stream", ln.Addr().String(), vnl.Args{})
	peer := <-accepted
	defer peer.Close()
	const n = 32
	var fs [][]byte
	for i := 0; i < n; i++ {
		fs = append(fs, eth(1514, byte(i)))
	}
	rec := framed(fs...)
	out := frames.GetBatch()
	for _, f := range fs {
		out.Add(frames.GetCopy(f))
	}
	defer out.Release()
	in := frames.GetBatch()
	defer in.Release()
	sink := make([]byte, len(rec))
	cycle := func() {
		if err := e.WriteBatch(out); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(peer, sink); err != nil {
			t.Fatal(err)
		}
		if _, err := peer.Write(rec); err != nil {
			t.Fatal(err)
		}
		for got := 0; got < n; {
			if err := e.ReadBatch(in); err != nil {
				t.Fatal(err)
			}
			got += in.N
			in.ReleaseFrames()
		}
	}
	for i := 0; i < 5; i++ {
		cycle()
	}
	if a := testing.AllocsPerRun(50, cycle); a != 0 {
		t.Fatalf("%.1f allocations per batch of %d frames", a, n)
	}
}
