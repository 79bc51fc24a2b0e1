package vde2

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/transports"
)

var (
	_ transports.Endpoint    = (*Endpoint)(nil)
	_ transports.NonBlocking = (*Endpoint)(nil)
	_ transports.DropCounter = (*Endpoint)(nil)
	_ transports.Endpoint    = (*Client)(nil)
	_ transports.NonBlocking = (*Client)(nil)
	_ transports.DropCounter = (*Client)(nil)
)

func fileMode(t testing.TB, p string) os.FileMode {
	t.Helper()
	st, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode()
}

// endpointFiles lists DIR/NNN.ID files.
func endpointFiles(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var r []string
	for _, e := range ents {
		if e.Name() != "ctl" {
			r = append(r, e.Name())
		}
	}
	return r
}

func TestServerWithRealVdePlug(t *testing.T) {
	needBin(t, "vde_plug")
	dir := filepath.Join(tempDir(t), "sw")
	log := newLogger(t)
	h := newHub()
	s := startServer(t, DefaultServerConfig(dir), h, log)

	if m := fileMode(t, dir); m&os.ModePerm != 0700 || m&os.ModeSetgid == 0 || !m.IsDir() {
		t.Errorf("dir mode %v, want drwx--S---", m)
	}
	if m := fileMode(t, s.CtlPath()); m&os.ModeSocket == 0 || m.Perm() != 0600 {
		t.Errorf("ctl mode %v, want srw-------", m)
	}

	a := startVdePlug(t, "vde://"+dir)
	b := startVdePlug(t, "vde://"+dir)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, _, open := h.counts(); open == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("vde_plugs did not attach; log %q; stderr %q %q", log.all(), a.stderr, b.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Attach happens before the reply; vde_plug then connects, chmods the
	// switch's socket and unlinks its own: wait for that to settle.
	deadline = time.Now().Add(3 * time.Second)
	for len(endpointFiles(t, dir)) != 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	eps := s.Endpoints()
	for _, ep := range eps {
		if !strings.HasPrefix(ep.Describe(), "vde_plug: user=") && !strings.HasPrefix(ep.Describe(), "vdeplug: user=") {
			t.Errorf("description %q", ep.Describe())
		}
		want := fmt.Sprintf("%s/%03d.%d", s.Dir(), ep.Port(), ep.ID())
		if ep.Path() != want {
			t.Errorf("endpoint path %q, want %q", ep.Path(), want)
		}
		if ep.Request().Version != 3 || ep.UID() != os.Getuid() {
			t.Errorf("request %+v", ep.Request())
		}
		// The client chmods the switch's socket to its own mode (0700).
		if m := fileMode(t, ep.Path()); m&os.ModeSocket == 0 || m.Perm() != 0700 {
			t.Errorf("endpoint socket mode %v, want srwx------", m)
		}
	}
	// vde_plug unlinked its own .PPPPP-NNNNN socket.
	if files := endpointFiles(t, dir); len(files) != 2 {
		t.Errorf("files in dir: %v, want the two endpoint sockets only", files)
	}

	sizes := []int{14, 15, 60, 64, 1000, 1514, 1518}
	for i, n := range sizes {
		f := testFrame(n, byte(i))
		a.send(t, f)
		if got := b.recv(t, 2*time.Second); !bytes.Equal(got, f) {
			t.Fatalf("a->b %d bytes: got %d bytes, differ", n, len(got))
		}
		f = testFrame(n, byte(i+100))
		b.send(t, f)
		if got := a.recv(t, 2*time.Second); !bytes.Equal(got, f) {
			t.Fatalf("b->a %d bytes: got %d bytes, differ", n, len(got))
		}
	}
	// Oversize frames are truncated at 1518 like vde_switch; runts ignored.
	a.send(t, testFrame(13, 1))
	a.send(t, testFrame(1600, 2))
	if got := b.recv(t, 2*time.Second); !bytes.Equal(got, testFrame(1600, 2)[:1518]) {
		t.Fatalf("1600-byte frame: got %d bytes, want the first 1518", len(got))
	}

	// One vde_plug leaves: its endpoint is detached and its file removed.
	a.stop()
	deadline = time.Now().Add(3 * time.Second)
	for {
		if att, det, open := h.counts(); att == 2 && det == 1 && open == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("counts after vde_plug exit: %v", fmt.Sprint(h.counts()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if files := endpointFiles(t, dir); len(files) != 1 {
		t.Errorf("files in dir after one client left: %v", files)
	}

	// port/epclose: the switch closes the other endpoint, vde_plug exits.
	for _, ep := range s.Endpoints() {
		ep.Close()
	}
	select {
	case <-b.exited:
	case <-time.After(3 * time.Second):
		t.Fatal("vde_plug did not exit after Endpoint.Close")
	}
	h.wg.Wait()
	if att, det, _ := h.counts(); att != 2 || det != 2 {
		t.Fatalf("attached %d detached %d", att, det)
	}
	for ep, n := range h.detached {
		if n != 1 {
			t.Errorf("endpoint %d detached %d times", ep.ID(), n)
		}
	}
	s.Close()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("dir not removed at Close: %v", err)
	}
}

func TestClientWithRealSwitch(t *testing.T) {
	dir := filepath.Join(tempDir(t), "sw")
	sw := startRealSwitch(t, dir)

	a, err := Dial(ClientConfig{Path: dir, Descr: "govde-a"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Dial(ClientConfig{Path: dir, PortGroup: "5"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if a.Port() != 1 || b.Port() != 5 {
		t.Errorf("ports %d %d, want 1 and 5", a.Port(), b.Port())
	}
	if !strings.HasPrefix(b.SwitchPath(), dir+"/005.") {
		t.Errorf("switch path %q", b.SwitchPath())
	}
	if !strings.HasPrefix(a.Describe(), "govde-a user=") {
		t.Errorf("descr %q", a.Describe())
	}
	if m := fileMode(t, a.SwitchPath()); m.Perm() != 0700 {
		t.Errorf("switch socket mode %v after chmod, want 0700", m)
	}
	if files := endpointFiles(t, dir); len(files) != 2 {
		t.Errorf("files in dir: %v, want only the two switch sockets", files)
	}

	for i, n := range []int{14, 60, 1514, 1518} {
		f := testFrame(n, byte(i))
		ba := batchOf(f)
		if err := a.WriteBatch(ba); err != nil {
			t.Fatal(err)
		}
		ba.Release()
		if got := readFrames(t, b, 1, 2*time.Second); !bytes.Equal(got[0], f) {
			t.Fatalf("a->b %d bytes differ (got %d)", n, len(got[0]))
		}
		f = testFrame(n, byte(i+50))
		bb := batchOf(f)
		if err := b.WriteBatch(bb); err != nil {
			t.Fatal(err)
		}
		bb.Release()
		if got := readFrames(t, a, 1, 2*time.Second); !bytes.Equal(got[0], f) {
			t.Fatalf("b->a %d bytes differ (got %d)", n, len(got[0]))
		}
	}
	// The real switch truncates at 1518 too.
	big := batchOf(testFrame(1600, 9))
	a.WriteBatch(big)
	big.Release()
	if got := readFrames(t, b, 1, 2*time.Second); !bytes.Equal(got[0], testFrame(1600, 9)[:1518]) {
		t.Fatalf("1600-byte frame: got %d bytes", len(got[0]))
	}

	// Port 0 request.
	c0, err := Dial(ClientConfig{Path: dir, PortGroup: "0"})
	if err != nil {
		t.Fatal(err)
	}
	if c0.Port() != 0 {
		t.Errorf("port0 client got port %d", c0.Port())
	}
	c0.Close()

	// The switch exits: clients see io.EOF promptly.
	sw.kill()
	for _, c := range []*Client{a, b} {
		done := make(chan error, 1)
		go func() {
			bt := batchOf()
			defer bt.Release()
			var err error
			for err == nil {
				bt.ReleaseFrames()
				err = c.ReadBatch(bt)
			}
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, io.EOF) {
				t.Errorf("ReadBatch after switch exit: %v, want io.EOF", err)
			}
		case <-time.After(time.Second):
			t.Fatal("ReadBatch did not return within 1s of the switch exit")
		}
	}
}

func TestRealSwitchEpcloseGivesEOF(t *testing.T) {
	dir := filepath.Join(tempDir(t), "sw")
	sw := startRealSwitch(t, dir)
	c, err := Dial(ClientConfig{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// port/print names the endpoint by the switch's ctl fd, not by the
	// data fd of the file name 001.ID.
	sw.command(t, "port/print")
	re := regexp.MustCompile(`Port 0001 [\s\S]*?endpoint ID (\d+)`)
	var id string
	deadline := time.Now().Add(2 * time.Second)
	for {
		if m := re.FindStringSubmatch(sw.out.String()); m != nil {
			id = m[1]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no endpoint in port/print: %q", sw.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	sw.command(t, "port/epclose 1 "+id)
	select {
	case <-c.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("no EOF on ctl after port/epclose")
	}
	b := batchOf()
	defer b.Release()
	if err := c.ReadBatch(b); !errors.Is(err, io.EOF) {
		t.Fatalf("ReadBatch: %v, want io.EOF", err)
	}
}

func TestBadRequests(t *testing.T) {
	dir := filepath.Join(tempDir(t), "sw")
	log := newLogger(t)
	h := newHub()
	cfg := DefaultServerConfig(dir)
	cfg.ReadTimeout = 300 * time.Millisecond
	s := startServer(t, cfg, h, log)

	// A valid client socket for the requests that get past parsing.
	own := filepath.Join(dir, ".own")
	ofd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ofd)
	if err := unix.Bind(ofd, &unix.SockaddrUnix{Name: own}); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(own)

	good := func(word uint32) []byte { return v3(word, own, "t") }
	setVersion := func(p []byte, v byte) []byte { p[4] = v; return p }
	tests := []struct {
		name string
		send []byte // nil: connect and close
		wait bool   // send nothing, wait for the timeout
		log  string
	}{
		{name: "wrong magic", send: append([]byte{0xef, 0xbe, 0xad, 0xde}, good(0)[4:]...), log: "V0 request not supported"},
		{name: "version 2", send: setVersion(good(0), 2), log: "Request for a version 2 port, which this vde_switch doesn't support"},
		{name: "version 7", send: setVersion(good(0), 7), log: "Request for a version 7 port, which this vde_switch doesn't support"},
		{name: "type 5", send: good(5), log: "Bad request type : 5"},
		{name: "truncated 20", send: good(0)[:20], log: "Truncated request (20 bytes"},
		{name: "garbage 300", send: bytes.Repeat([]byte("garbage!"), 38)[:300], log: "V0 request not supported"},
		{name: "port out of range", send: good(40 << 8), log: "Connection refused (port 40 requested): port 40 out of range"},
		{name: "missing client socket", send: v3(0, dir+"/.nonexistent", ""), log: "Cannot access client data socket"},
		{name: "timeout", wait: true, log: "Timeout waiting for request"},
		{name: "connect and close", log: "EOF from new port"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := log.count(tc.log)
			c, err := net.Dial("unix", s.CtlPath())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			switch {
			case tc.send != nil:
				if _, err := c.Write(tc.send); err != nil {
					t.Fatal(err)
				}
				expectEOF(t, c, time.Second)
			case tc.wait:
				expectEOF(t, c, time.Second)
			default:
				c.Close()
			}
			deadline := time.Now().Add(time.Second)
			for log.count(tc.log) == before {
				if time.Now().After(deadline) {
					t.Fatalf("no log line %q; log: %q", tc.log, log.all())
				}
				time.Sleep(5 * time.Millisecond)
			}
			// A good client still works afterwards.
			gc, err := Dial(ClientConfig{Path: dir, Timeout: time.Second})
			if err != nil {
				t.Fatalf("good client after %s: %v", tc.name, err)
			}
			gc.Close()
		})
	}
	// Our own client refused by the Attacher gets an error quickly, not a
	// hang.
	start := time.Now()
	if _, err := Dial(ClientConfig{Path: dir, PortGroup: "99", Timeout: 5 * time.Second}); err == nil {
		t.Fatal("Dial to a refused port succeeded")
	} else if time.Since(start) > time.Second {
		t.Fatalf("refused Dial took %v", time.Since(start))
	} else if !strings.Contains(err.Error(), "request refused") {
		t.Fatalf("refused Dial: %v", err)
	}
	// No endpoint or file left behind by the bad requests (the last good
	// client's endpoint goes away asynchronously).
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if _, _, open := h.counts(); open == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, _, open := h.counts(); open != 0 {
		t.Errorf("%d endpoints open", open)
	}
	if files := endpointFiles(t, dir); len(files) != 1 || files[0] != ".own" {
		t.Errorf("files left: %v", files)
	}
}

func TestSecondRequestOnCtlClosesEndpoint(t *testing.T) {
	dir := filepath.Join(tempDir(t), "sw")
	log := newLogger(t)
	h := newHub()
	s := startServer(t, DefaultServerConfig(dir), h, log)
	cl, err := Dial(ClientConfig{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := cl.ctl.Write(v3(0, "/x", "again")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-cl.Done():
	case <-time.After(time.Second):
		t.Fatal("client not disconnected after a second request")
	}
	log.waitFor(t, "Unexpected data on the control connection of port 1", time.Second)
	h.wg.Wait()
	if att, det, open := h.counts(); att != 1 || det != 1 || open != 0 {
		t.Fatalf("counts %d %d %d", att, det, open)
	}
	if files := endpointFiles(t, s.Dir()); len(files) != 0 {
		t.Fatalf("files left: %v", files)
	}
}

func TestServerAndClientData(t *testing.T) {
	dir := filepath.Join(tempDir(t), "sw")
	log := newLogger(t)
	h := newHub()
	s := startServer(t, DefaultServerConfig(dir), h, log)
	a, err := Dial(ClientConfig{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Dial(ClientConfig{Path: dir, Port: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if a.Port() != 1 || b.Port() != 7 {
		t.Fatalf("ports %d %d", a.Port(), b.Port())
	}
	p0, err := Dial(ClientConfig{Path: dir, Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer p0.Close()
	if p0.Port() != 0 {
		t.Fatalf("Port -1 gave port %d", p0.Port())
	}
	fs := [][]byte{testFrame(60, 1), testFrame(1514, 2), testFrame(14, 3)}
	bt := batchOf(fs...)
	a.WriteBatch(bt)
	bt.Release()
	for _, c := range []*Client{b, p0} {
		got := readFrames(t, c, 3, 2*time.Second)
		for i := range fs {
			if !bytes.Equal(got[i], fs[i]) {
				t.Fatalf("frame %d differs", i)
			}
		}
	}
	// Endpoint.Close from the switch side: the client sees io.EOF within a
	// second, Detach is called once, the file is gone.
	var epB *Endpoint
	for _, ep := range s.Endpoints() {
		if ep.Port() == 7 {
			epB = ep
		}
	}
	if epB == nil {
		t.Fatal("no endpoint on port 7")
	}
	path := epB.Path()
	epB.Close()
	epB.Close()
	done := make(chan error, 1)
	go func() {
		x := batchOf()
		defer x.Release()
		done <- b.ReadBatch(x)
	}()
	select {
	case err := <-done:
		if !errors.Is(err, io.EOF) {
			t.Fatalf("client ReadBatch: %v, want io.EOF", err)
		}
	case <-time.After(time.Second):
		t.Fatal("client did not see EOF within 1s")
	}
	x := batchOf()
	if err := epB.ReadBatch(x); !errors.Is(err, transports.ErrClosed) {
		t.Fatalf("closed endpoint ReadBatch: %v", err)
	}
	x.Release()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("endpoint file %s still there", path)
	}
	deadline := time.Now().Add(time.Second)
	for {
		h.mu.Lock()
		n := h.detached[epB]
		h.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Detach called %d times", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// A client that leaves makes the server endpoint's ReadBatch return
	// io.EOF.
	var epA *Endpoint
	for _, ep := range s.Endpoints() {
		if ep.Port() == 1 {
			epA = ep
		}
	}
	h.mu.Lock()
	delete(h.eps, epA) // take over reading from the hub's relay
	h.mu.Unlock()
	a.Close()
	deadline = time.Now().Add(time.Second)
	for {
		y := batchOf()
		err := epA.ReadBatch(y)
		y.Release()
		if errors.Is(err, io.EOF) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server endpoint ReadBatch: %v, want io.EOF", err)
		}
	}
}

func TestSendErrorsLogged(t *testing.T) {
	dir := filepath.Join(tempDir(t), "sw")
	log := newLogger(t)
	h := newHub()
	s := startServer(t, DefaultServerConfig(dir), h, log)
	c, err := Dial(ClientConfig{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The client closes only its data socket: sends fail, the endpoint stays.
	c.data.Close()
	eps := s.Endpoints()
	if len(eps) != 1 {
		t.Fatal("no endpoint")
	}
	b := batchOf(testFrame(60, 1), testFrame(60, 2))
	defer b.Release()
	for i := 0; i < 3; i++ {
		if err := eps[0].WriteBatch(b); err != nil {
			t.Fatalf("WriteBatch: %v", err)
		}
	}
	log.waitFor(t, "send_sockaddr port 1: Connection refused", time.Second)
	if n := log.count("send_sockaddr"); n != 1 {
		t.Errorf("%d send error lines, want 1 (rate-limited)", n)
	}
	if w, _ := eps[0].Drops(); w != 6 {
		t.Errorf("write drops %d, want 6", w)
	}
	if _, _, open := h.counts(); open != 1 {
		t.Error("endpoint removed on send errors")
	}
}

func TestManyClientsNoLeaks(t *testing.T) {
	dir := filepath.Join(tempDir(t), "sw")
	log := newLogger(t)
	h := newHub()
	h.numPorts = 1000
	s, err := Listen(DefaultServerConfig(dir), h, log.logf)
	if err != nil {
		t.Fatal(err)
	}
	serveDone := make(chan error, 1)
	go func() { serveDone <- s.Serve() }()
	defer func() { s.Close(); <-serveDone }()

	// Warm up (lazy runtime goroutines, user lookup), then take the baseline.
	w, err := Dial(ClientConfig{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	settle := func(cond func() bool) {
		deadline := time.Now().Add(3 * time.Second)
		for !cond() && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	settle(func() bool { _, det, _ := h.counts(); return det == 1 })
	baseG := runtime.NumGoroutine()
	baseFD := countFDs(t)

	const n = 200
	clients := make([]*Client, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := Dial(ClientConfig{Path: dir, Timeout: 5 * time.Second})
			if err != nil {
				errs <- err
				return
			}
			clients[i] = c
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("%v; log %q", err, log.all())
	}
	settle(func() bool { _, _, open := h.counts(); return open == n })
	if att, _, open := h.counts(); open != n || att != n+1 {
		t.Fatalf("attached %d open %d", att, open)
	}
	if files := endpointFiles(t, dir); len(files) != n {
		t.Fatalf("%d files in dir, want %d", len(files), n)
	}
	ports := map[int]bool{}
	for _, c := range clients {
		ports[c.Port()] = true
	}
	if len(ports) != n {
		t.Fatalf("%d distinct ports", len(ports))
	}
	for _, c := range clients {
		c.Close()
	}
	settle(func() bool { _, det, _ := h.counts(); return det == n+1 })
	h.wg.Wait()
	if _, det, open := h.counts(); det != n+1 || open != 0 {
		t.Fatalf("detached %d open %d", det, open)
	}
	var g, fds int
	settle(func() bool {
		g, fds = runtime.NumGoroutine(), countFDs(t)
		return g <= baseG && fds <= baseFD
	})
	if g > baseG {
		buf := make([]byte, 1<<16)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("goroutines %d -> %d\n%s", baseG, g, buf)
	}
	if fds > baseFD {
		t.Fatalf("fds %d -> %d", baseFD, fds)
	}
	if files := endpointFiles(t, dir); len(files) != 0 {
		t.Fatalf("files left: %v", files)
	}
}

func TestServerCloseCleanup(t *testing.T) {
	t.Run("clean", func(t *testing.T) {
		dir := filepath.Join(tempDir(t), "sw")
		log := newLogger(t)
		h := newHub()
		s := startServer(t, DefaultServerConfig(dir), h, log)
		c, err := Dial(ClientConfig{Path: dir})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s.Close()
		select {
		case <-c.Done():
		case <-time.After(time.Second):
			t.Fatal("client not disconnected by Server.Close")
		}
		if att, det, _ := h.counts(); att != 1 || det != 1 {
			t.Fatalf("attached %d detached %d after Close", att, det)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("dir still there: %v", err)
		}
	})
	t.Run("stray file", func(t *testing.T) {
		dir := filepath.Join(tempDir(t), "sw")
		log := newLogger(t)
		s := startServer(t, DefaultServerConfig(dir), newHub(), log)
		if err := os.WriteFile(filepath.Join(dir, ".00001-00000"), nil, 0600); err != nil {
			t.Fatal(err)
		}
		s.Close()
		want := fmt.Sprintf("Could not remove ctl dir '%s': Directory not empty", s.Dir())
		if log.count(want) != 1 {
			t.Fatalf("log %q, want %q", log.all(), want)
		}
		if _, err := os.Stat(s.CtlPath()); !os.IsNotExist(err) {
			t.Fatal("ctl not removed")
		}
	})
}

func TestListenStaleAndInUse(t *testing.T) {
	dir := filepath.Join(tempDir(t), "sw")
	if err := os.Mkdir(dir, 0755); err != nil {
		t.Fatal(err)
	}
	// A stale ctl: bound, never listening, closed.
	fd, _ := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: dir + "/ctl"}); err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	log := newLogger(t)
	s, err := Listen(DefaultServerConfig(dir), newHub(), log.logf)
	if err != nil {
		t.Fatalf("stale ctl: %v", err)
	}
	go s.Serve()
	defer s.Close()
	if m := fileMode(t, dir); m&os.ModePerm != 0700 || m&os.ModeSetgid == 0 {
		t.Errorf("existing dir mode not set: %v", m)
	}
	// A live one.
	_, err = Listen(DefaultServerConfig(dir), newHub(), log.logf)
	want := fmt.Sprintf("Could not bind to socket '%s/ctl': Address already in use", s.Dir())
	var aiu *AddrInUseError
	if err == nil || err.Error() != want || !errors.As(err, &aiu) || !errors.Is(err, unix.EADDRINUSE) {
		t.Fatalf("second Listen: %v, want %q", err, want)
	}
	// Still serving.
	c, err := Dial(ClientConfig{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

func TestListenOnRealSwitchDir(t *testing.T) {
	dir := filepath.Join(tempDir(t), "sw")
	startRealSwitch(t, dir)
	_, err := Listen(DefaultServerConfig(dir), newHub(), nil)
	want := fmt.Sprintf("Could not bind to socket '%s/ctl': Address already in use", dir)
	if err == nil || err.Error() != want {
		t.Fatalf("Listen on a live vde_switch: %v, want %q", err, want)
	}
}

func TestRealSwitchRefusesOurDir(t *testing.T) {
	bin := needBin(t, "vde_switch")
	dir := filepath.Join(tempDir(t), "sw")
	s := startServer(t, DefaultServerConfig(dir), newHub(), newLogger(t))
	cmd := exec.Command(bin, "-s", dir)
	out, err := cmd.CombinedOutput()
	var ee interface{ ExitCode() int }
	if !errors.As(err, &ee) || ee.ExitCode() != 255 {
		t.Fatalf("vde_switch on our dir: %v, want exit 255 (output %q)", err, out)
	}
	if want := fmt.Sprintf("Could not bind to socket '%s/ctl': Address already in use", s.Dir()); !strings.Contains(string(out), want) {
		t.Fatalf("vde_switch said %q, want %q", out, want)
	}
}

func TestModesApplied(t *testing.T) {
	dir := filepath.Join(tempDir(t), "sw")
	cfg := DefaultServerConfig(dir)
	cfg.Mode = 0660
	s := startServer(t, cfg, newHub(), newLogger(t))
	if m := fileMode(t, dir); m&os.ModePerm != 0770 || m&os.ModeSetgid == 0 {
		t.Errorf("dir %v, want drwxrws---", m)
	}
	if m := fileMode(t, s.CtlPath()); m.Perm() != 0660 {
		t.Errorf("ctl %v, want srw-rw----", m)
	}
	// The endpoint socket: mode&0700 and owned by the client when we are
	// root, mode otherwise. Use a raw client: vdeplug (and Dial) chmod the
	// switch's socket to their own mode afterwards.
	own := filepath.Join(dir, ".raw")
	fd, _ := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: own}); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("unix", s.CtlPath())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(v3(0, own, "raw"))
	reply := make([]byte, SockaddrLen)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.ReadFull(c, reply); err != nil {
		t.Fatal(err)
	}
	path, _ := ParseSockaddr(reply)
	want := os.FileMode(0660)
	if os.Geteuid() == 0 {
		want = 0600
	}
	if m := fileMode(t, path); m.Perm() != want {
		t.Errorf("endpoint socket %v, want %v", m, want)
	}
	var st unix.Stat_t
	unix.Stat(path, &st)
	if os.Geteuid() == 0 && int(st.Uid) != os.Getuid() {
		t.Errorf("endpoint socket owner %d", st.Uid)
	}
}

func TestAbstractClient(t *testing.T) {
	dir := filepath.Join(tempDir(t), "sw")
	h := newHub()
	s := startServer(t, DefaultServerConfig(dir), h, newLogger(t))
	var raw [SunPathLen]byte
	copy(raw[1:], fmt.Sprintf("govde-test-%d", os.Getpid()))
	fd, _ := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	defer unix.Close(fd)
	// Bound with the full 108 bytes, as the C switch connects with them.
	if err := bindRaw(fd, &raw); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("unix", s.CtlPath())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(EncodeRequest(Request{RawAddr: raw, Descr: "abstract"}))
	reply := make([]byte, SockaddrLen)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.ReadFull(c, reply); err != nil {
		t.Fatal(err)
	}
	eps := s.Endpoints()
	if len(eps) != 1 || eps[0].UID() != -1 || eps[0].Request().ClientPath != "" {
		t.Fatalf("endpoint %+v", eps[0].Request())
	}
	// Data from the switch reaches the abstract socket.
	b := batchOf(testFrame(60, 7))
	eps[0].WriteBatch(b)
	b.Release()
	buf := make([]byte, 2000)
	unix.SetNonblock(fd, false)
	tv := unix.Timeval{Sec: 2}
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	n, err := unix.Read(fd, buf)
	if err != nil || !bytes.Equal(buf[:n], testFrame(60, 7)) {
		t.Fatalf("abstract client read %d bytes, %v", n, err)
	}
}
