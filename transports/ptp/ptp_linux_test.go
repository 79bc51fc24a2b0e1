package ptp

import (
	"bytes"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/vnl"
)

func openT(t *testing.T, path string, a vnl.Args) *Endpoint {
	t.Helper()
	ep, err := Open(path, a)
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

func write(t *testing.T, e transports.Endpoint, f []byte) {
	t.Helper()
	b := frames.GetBatch()
	b.Add(frames.GetCopy(f))
	defer b.Release()
	if err := e.WriteBatch(b); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, e transports.Endpoint, want []byte) {
	t.Helper()
	got := make(chan []byte, 1)
	go func() {
		b := frames.GetBatch()
		defer b.Release()
		if e.ReadBatch(b) == nil && b.N > 0 {
			got <- append([]byte(nil), b.Frames[0].Bytes()...)
		}
		close(got)
	}()
	select {
	case g := <-got:
		if !bytes.Equal(g, want) {
			t.Fatalf("got %d bytes, want %d", len(g), len(want))
		}
	case <-time.After(3 * time.Second):
		e.Close()
		t.Fatal("frame lost")
	}
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("%s is not a socket", path)
	}
	return fi.Mode().Perm()
}

// The two roles, both directions, jumbo frames, and the files.
func TestTwoEnds(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pp")
	a := openT(t, p, vnl.Args{})
	// Nobody at PATH+ yet: the first end's frames are dropped and counted.
	write(t, a, eth(60, 1))
	if w, _ := a.Drops(); w != 1 {
		t.Fatalf("drops before the peer exists: %d", w)
	}
	b := openT(t, p, vnl.Args{Mode: 0660})
	if !a.First() || b.First() || a.Path() != p || b.Path() != p+"+" {
		t.Fatalf("roles: a %v %s, b %v %s", a.First(), a.Path(), b.First(), b.Path())
	}
	if mode(t, p) != 0700 || mode(t, p+"+") != 0660 {
		t.Fatalf("modes %v %v", mode(t, p), mode(t, p+"+"))
	}
	if a.Describe() != "ptp://"+p || b.Describe() != "ptp://"+p || a.MaxFrame() != frames.MaxJumbo {
		t.Fatalf("describe %q %q, max %d", a.Describe(), b.Describe(), a.MaxFrame())
	}
	for i, n := range []int{60, 1514, 9014, frames.MaxJumbo} {
		write(t, b, eth(n, byte(i)))
		read(t, a, eth(n, byte(i)))
		write(t, a, eth(n, byte(i+50)))
		read(t, b, eth(n, byte(i+50)))
	}
	// A third opener finds both ends taken.
	_, err := Open(p, vnl.Args{})
	if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), "both ends of ptp "+p+" are in use") {
		t.Fatalf("third opener: %v", err)
	}
	b.Close()
	if _, err := os.Lstat(p + "+"); !os.IsNotExist(err) {
		t.Fatal("Close left the socket file")
	}
	b.Close() // twice is fine
}

// Either end may die and come back: traffic resumes.
func TestRestart(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pp")
	a := openT(t, p, vnl.Args{})
	b := openT(t, p, vnl.Args{})
	write(t, a, eth(60, 1))
	read(t, b, eth(60, 1))
	b.Close()
	write(t, a, eth(60, 2)) // refused: the peer is gone
	b2 := openT(t, p, vnl.Args{})
	write(t, a, eth(60, 3))
	read(t, b2, eth(60, 3))
	write(t, b2, eth(60, 4))
	read(t, a, eth(60, 4))
	// The first end restarts: it takes PATH again.
	a.Close()
	a2 := openT(t, p, vnl.Args{})
	if !a2.First() {
		t.Fatal("restarted first end took the second role")
	}
	write(t, b2, eth(60, 5))
	write(t, b2, eth(60, 6))
	read(t, a2, eth(60, 6))
	write(t, a2, eth(60, 7))
	read(t, b2, eth(60, 7))
}

// A socket file left by a dead process is reused; other files are not.
func TestStaleAndForeignFiles(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pp")
	fd, _ := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: p}); err != nil {
		t.Fatal(err)
	}
	unix.Close(fd) // the file stays, nobody behind it
	a := openT(t, p, vnl.Args{})
	if !a.First() {
		t.Fatal("a stale PATH was not reused")
	}
	q := filepath.Join(dir, "plain")
	os.WriteFile(q, nil, 0644)
	_, err := Open(q, vnl.Args{})
	if !errors.Is(err, syscall.EEXIST) || err.Error() != "File exists: "+q+" exists and is not a socket" {
		t.Fatalf("regular file: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	long := "/tmp/" + strings.Repeat("x", 110)
	for _, c := range []struct {
		path  string
		a     vnl.Args
		errno syscall.Errno
		text  string
	}{
		{"", vnl.Args{}, syscall.EINVAL, "Invalid argument: missing socket path: the syntax is ptp://PATH"},
		{long, vnl.Args{}, syscall.ENAMETOOLONG, "File name too long: socket path " + long + "+ is longer than 107 bytes"},
		{"/nonexistent-dir/x", vnl.Args{}, syscall.ENOENT, "No such file or directory: cannot bind the ptp socket /nonexistent-dir/x"},
		{filepath.Join(t.TempDir(), "g"), vnl.Args{Group: "no-such-group-xyz"}, syscall.EINVAL, `Invalid argument: no such group "no-such-group-xyz"`},
	} {
		_, err := Open(c.path, c.a)
		if !errors.Is(err, c.errno) || err.Error() != c.text {
			t.Errorf("%q: %v, want %q", c.path, err, c.text)
		}
	}
}

func TestGroup(t *testing.T) {
	g, err := user.LookupGroup("nogroup")
	if os.Geteuid() != 0 || err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root and the nogroup group")
		}
		t.Skip("needs root and the nogroup group")
	}
	gid, _ := strconv.Atoi(g.Gid)
	p := filepath.Join(t.TempDir(), "pp")
	openT(t, p, vnl.Args{Group: "nogroup"})
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil || int(st.Gid) != gid {
		t.Fatalf("gid %d, want %d (%v)", st.Gid, gid, err)
	}
}
