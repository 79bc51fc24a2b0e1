package vde2

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeSwitch accepts one connection on a listener, records the request
// and what it saw of the client's socket, and replies like vde_switch with
// its own datagram socket DIR/001.7.
type fakeSwitch struct {
	ln      *net.UnixListener
	dir     string
	got     chan fakeSeen
	dataFD  int
	replyTo string
}

type fakeSeen struct {
	req      []byte
	mode     os.FileMode // of the client's data socket when the request came
	listener string
	err      error
}

func newFakeSwitch(t *testing.T, dir, name string) *fakeSwitch {
	t.Helper()
	return newFakeSwitchReply(t, dir, name, filepath.Join(dir, "001.7"))
}

// newFakeSwitchReply is newFakeSwitch with the switch's socket at replyTo.
func newFakeSwitchReply(t *testing.T, dir, name, replyTo string) *fakeSwitch {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(dir, name), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeSwitch{ln: ln, dir: dir, got: make(chan fakeSeen, 1), replyTo: replyTo}
	t.Cleanup(func() { ln.Close() })
	go f.serve(name)
	return f
}

func (f *fakeSwitch) serve(name string) {
	c, err := f.ln.AcceptUnix()
	if err != nil {
		f.got <- fakeSeen{err: err}
		return
	}
	buf := make([]byte, 512)
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		f.got <- fakeSeen{err: err}
		return
	}
	seen := fakeSeen{req: buf[:n], listener: name}
	req, err := ParseRequest(buf[:n])
	if err != nil {
		seen.err = err
		f.got <- seen
		return
	}
	if st, err := os.Lstat(req.ClientPath); err == nil {
		seen.mode = st.Mode()
	}
	fd, _ := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	unix.Connect(fd, &unix.SockaddrUnix{Name: req.ClientPath})
	os.Remove(f.replyTo)
	unix.Bind(fd, &unix.SockaddrUnix{Name: f.replyTo})
	os.Chmod(f.replyTo, 0755)
	f.dataFD = fd
	f.got <- seen
	c.Write(EncodeSockaddr(f.replyTo))
	// keep c open until the listener closes
	go func() { <-time.After(10 * time.Second); c.Close() }()
}

func (f *fakeSwitch) seen(t *testing.T) fakeSeen {
	t.Helper()
	select {
	case s := <-f.got:
		if s.err != nil {
			t.Fatalf("fake switch: %v", s.err)
		}
		return s
	case <-time.After(3 * time.Second):
		t.Fatal("fake switch saw no request")
		return fakeSeen{}
	}
}

// expectedRequest is the layout the real vde_plug sends (see
// observedRequest): magic, version 3, type word, sockaddr_un of
// DIR/.PPPPP-00000, "<descr> user=<name> pid=<pid>" without NUL.
func expectedRequest(t *testing.T, dir string, word uint32, descr string) []byte {
	t.Helper()
	name := "??"
	if u, err := user.LookupId(strconv.Itoa(os.Getuid())); err == nil {
		name = u.Username
	}
	if os.Getuid() == 0 && name != "root" {
		t.Fatalf("uid 0 is %q", name)
	}
	p := []byte{0xce, 0xfa, 0xed, 0xfe, 3, 0, 0, 0, byte(word), byte(word >> 8), byte(word >> 16), byte(word >> 24), 1, 0}
	path := make([]byte, SunPathLen)
	copy(path, fmt.Sprintf("%s/.%05d-00000", dir, os.Getpid()))
	p = append(p, path...)
	return append(p, fmt.Sprintf("%s user=%s pid=%d", descr, name, os.Getpid())...)
}

func TestClientHandshakeBytes(t *testing.T) {
	t.Setenv("SSH_CLIENT", "")
	os.Unsetenv("SSH_CLIENT")
	dir, err := filepath.EvalSymlinks(tempDir(t))
	if err != nil {
		t.Fatal(err)
	}
	fs := newFakeSwitch(t, dir, "ctl")
	c, err := Dial(ClientConfig{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seen := fs.seen(t)
	want := expectedRequest(t, dir, 0, "vdeplug:")
	if !bytes.Equal(seen.req, want) {
		t.Fatalf("request:\n%s\nwant:\n%s", hex.Dump(seen.req), hex.Dump(want))
	}
	if len(seen.req) != v3Fixed+len(c.Describe()) {
		t.Fatalf("request length %d", len(seen.req))
	}
	if seen.mode&os.ModeSocket == 0 || seen.mode.Perm() != 0700 {
		t.Errorf("client socket mode %v at request time, want srwx------", seen.mode)
	}
	// After Dial: own socket unlinked, switch socket chmodded to 0700.
	if _, err := os.Lstat(fmt.Sprintf("%s/.%05d-00000", dir, os.Getpid())); !os.IsNotExist(err) {
		t.Errorf("client socket file not unlinked: %v", err)
	}
	if m := fileMode(t, fs.replyTo); m.Perm() != 0700 {
		t.Errorf("switch socket %v, want 0700", m)
	}
	if c.SwitchPath() != fs.replyTo || c.Port() != 1 {
		t.Errorf("SwitchPath %q Port %d", c.SwitchPath(), c.Port())
	}
	// Frames both ways through the fake switch's socket.
	f := testFrame(100, 3)
	if _, err := unix.Write(fs.dataFD, f); err != nil {
		t.Fatal(err)
	}
	if got := readFrames(t, c, 1, time.Second); !bytes.Equal(got[0], f) {
		t.Fatal("switch->client frame differs")
	}
	b := batchOf(testFrame(70, 4))
	c.WriteBatch(b)
	b.Release()
	buf := make([]byte, 2000)
	unix.SetsockoptTimeval(fs.dataFD, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 2})
	n, err := unix.Read(fs.dataFD, buf)
	if err != nil || !bytes.Equal(buf[:n], testFrame(70, 4)) {
		t.Fatalf("client->switch: %d bytes, %v", n, err)
	}
	unix.Close(fs.dataFD)
}

func TestClientRequestVariants(t *testing.T) {
	os.Unsetenv("SSH_CLIENT")
	tests := []struct {
		name     string
		cfg      ClientConfig
		listener string // where the fake switch listens
		word     uint32
		descr    string
		mode     os.FileMode
	}{
		{name: "port 5", cfg: ClientConfig{PortGroup: "5"}, listener: "ctl", word: 5 << 8, descr: "vdeplug:"},
		{name: "port 1000 via Port", cfg: ClientConfig{Port: 1000}, listener: "ctl", word: 1000 << 8, descr: "vdeplug:"},
		{name: "port 0", cfg: ClientConfig{PortGroup: "0"}, listener: "ctl", word: ReqNewPort0, descr: "vdeplug:"},
		{name: "port -1", cfg: ClientConfig{Port: -1}, listener: "ctl", word: ReqNewPort0, descr: "vdeplug:"},
		{name: "group overrides Port", cfg: ClientConfig{PortGroup: "lan7", Port: 3}, listener: "lan7", word: 0, descr: "vdeplug:"},
		{name: "group falls back to ctl", cfg: ClientConfig{PortGroup: "lan8"}, listener: "ctl", word: 0, descr: "vdeplug:"},
		{name: "descr and mode", cfg: ClientConfig{Descr: "qemu", Mode: 0660}, listener: "ctl", word: 0, descr: "qemu", mode: 0660},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := filepath.EvalSymlinks(tempDir(t))
			fs := newFakeSwitch(t, dir, tc.listener)
			cfg := tc.cfg
			cfg.Path = dir
			c, err := Dial(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			seen := fs.seen(t)
			if want := expectedRequest(t, dir, tc.word, tc.descr); !bytes.Equal(seen.req, want) {
				t.Fatalf("request:\n%s\nwant:\n%s", hex.Dump(seen.req), hex.Dump(want))
			}
			want := tc.mode
			if want == 0 {
				want = 0700
			}
			if seen.mode.Perm() != want {
				t.Errorf("client socket mode %v, want %v", seen.mode, want)
			}
			unix.Close(fs.dataFD)
		})
	}
}

func TestClientDescrSSHAndTruncation(t *testing.T) {
	t.Setenv("SSH_CLIENT", "192.0.2.7 51234 22")
	d := clientDescr("vdeplug:")
	if want := fmt.Sprintf(" pid=%d SSH=192.0.2.7", os.Getpid()); !bytes.HasSuffix([]byte(d), []byte(want)) {
		t.Fatalf("descr %q, want suffix %q", d, want)
	}
	long := clientDescr(string(bytes.Repeat([]byte("x"), 300)))
	if len(long) != 127 {
		t.Fatalf("long descr %d bytes, want 127", len(long))
	}
}

func TestDialErrors(t *testing.T) {
	_, err := Dial(ClientConfig{Path: "/nonexistent/vde/dir"})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing dir: %v", err)
	}
	// A directory without a switch.
	_, err = Dial(ClientConfig{Path: tempDir(t)})
	if err == nil {
		t.Fatal("Dial to an empty dir succeeded")
	}
	// A switch that never answers (the Debian behaviour for refused ports):
	// the timeout applies and the client socket file is removed.
	dir, _ := filepath.EvalSymlinks(tempDir(t))
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: dir + "/ctl", Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			time.Sleep(2 * time.Second)
			c.Close()
		}
	}()
	start := time.Now()
	_, err = Dial(ClientConfig{Path: dir, Timeout: 200 * time.Millisecond})
	if err == nil || time.Since(start) > time.Second {
		t.Fatalf("Dial to a silent switch: %v after %v", err, time.Since(start))
	}
	if files := endpointFiles(t, dir); len(files) != 0 {
		t.Fatalf("files left: %v", files)
	}
}

func TestClientFallbackDataDir(t *testing.T) {
	// A switch directory path so long that DIR/.PPPPP-NNNNN does not fit
	// in sun_path while DIR/ctl does: the data socket goes to a fallback
	// directory, as in vdeplug.
	base, _ := filepath.EvalSymlinks(tempDir(t))
	dir := base + "/" + strings.Repeat("d", SunPathLen-1-len("/ctl")-len(base)-1)
	if err := os.MkdirAll(dir, 0700); err != nil {
		t.Fatal(err)
	}
	fsw := newFakeSwitchReply(t, dir, "ctl", base+"/001.7")
	c, err := Dial(ClientConfig{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seen := fsw.seen(t)
	req, err := ParseRequest(seen.req)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("/vde.%05d-00000", os.Getpid())
	if !bytes.HasSuffix([]byte(req.ClientPath), []byte(want)) || filepath.Dir(req.ClientPath) == dir {
		t.Fatalf("client path %q, want a fallback dir ending in %q", req.ClientPath, want)
	}
	if _, err := os.Lstat(req.ClientPath); !os.IsNotExist(err) {
		t.Fatalf("fallback socket not unlinked")
	}
	unix.Close(fsw.dataFD)
}
