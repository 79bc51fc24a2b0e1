package filter

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Expected console output, byte for byte, as the real wirefilter 2.3.2
// prints it (captured from the Debian binary; the interop tests compare the
// two live).

const helpOut = "0000 DATA END WITH '.'\nCOMMAND      HELP\n------------ ------------\nhelp         print a summary of mgmt commands\nload         load a configuration file\nshowinfo     show status and parameter values\nloss         set loss percentage\nlostburst    mean length of lost packet bursts\ndelay        set delay ms\ndup          set dup packet percentage\nbandwidth    set channel bandwidth bytes/sec\nspeed        set interface speed bytes/sec\nnoise        set noise factor bits/Mbyte\nmtu          set channel MTU (bytes)\nchanbufsize  set channel buffer size (bytes)\nfifo         set channel fifoness\nshutdown     shut the channel down\nlogout       log out from this mgmt session\nmarkov-numnodes n  markov mode: set number of states\nmarkov-setnode n   markov mode: set current state\nmarkov-name n,name markov mode: set state's name\nmarkov-time ms     markov mode: transition period\nsetedge n1,n2,w    markov mode: set edge weight\nshowinfo n         markov mode: show parameter values\nshowedges n        markov mode: show edge weights\nshowcurrent        markov mode: show current state\nmarkov-debug n     markov mode: set debug level\n.\n1000 Success\n\nVDEwf$ "

const monoInfo = "0000 DATA END WITH '.'\nWireFilter: monodirectional\nLoss   0+0U\nLburst 0+0U\nDelay  0+0U\nDup    0+0U\nBandw  0+0U\nSpeed  0+0U\nNoise  0+0U\nMTU    0\nCap.   0+0U\nCurrent Delay Queue size:   0\nFifoness TRUE\nWaiting packets in delay queues 0\n.\n1000 Success\n\nVDEwf$ "

const biInfo = "0000 DATA END WITH '.'\nWireFilter: bidirectional\nLoss   L->R 5+0U   R->L 5+0U\nLburst L->R 0+0U   R->L 0+0U\nDelay  L->R 10+5N   R->L 0+0U\nDup    L->R 0+0U   R->L 0+0U\nBandw  L->R 131072+65536N   R->L 131072+65536N\nSpeed  L->R 0+0U   R->L 0+0U\nNoise  L->R 0+0U   R->L 0+0U\nMTU    L->R 1500     R->L 1500   \nCap.   L->R 0+0U   R->L 0+0U\nCurrent Delay Queue size:   L->R 0      R->L 0   \nFifoness TRUE\nWaiting packets in delay queues 0\n.\n1000 Success\n\nVDEwf$ "

type transcript struct {
	t   *testing.T
	c   *Control
	s   *Session
	out *bytes.Buffer
}

func newTranscript(t *testing.T, dirs int) *transcript {
	out := &bytes.Buffer{}
	c := NewControl(ControlOptions{Dirs: dirs})
	t.Cleanup(c.Close)
	return &transcript{t: t, c: c, s: c.NewSession(out), out: out}
}

// run executes one command and checks its complete output.
func (tr *transcript) run(cmd, want string) {
	tr.t.Helper()
	tr.out.Reset()
	tr.s.Exec(cmd)
	if got := tr.out.String(); got != want {
		tr.t.Errorf("%q:\n got %q\nwant %q", cmd, got, want)
	}
}

const ok = "1000 Success\n\nVDEwf$ "

func TestConsoleFormat(t *testing.T) {
	tr := newTranscript(t, 1)
	tr.run("help", helpOut)
	tr.run("showinfo", monoInfo)
	tr.run("  foo", "1038 Function not implemented\n\nVDEwf$ ")
	tr.run("", "\nVDEwf$ ")
	tr.run("# a comment", "\nVDEwf$ ")
	tr.run("showinfo 3", "0000 DATA END WITH '.'\n.\n1022 Invalid argument\n\nVDEwf$ ")
	tr.run("load /nonexistent/file", "0000 DATA END WITH '.'\n.\n1002 No such file or directory\n\nVDEwf$ ")
	tr.run("markov-numnodes 2", ok)
	tr.run("markov-name 1,bad", ok)
	tr.run("showedges", "0000 DATA END WITH '.'\nEdge 0 ->0  \"\"->\"\" weigth 100\n.\n1000 Success\n\nVDEwf$ ")
	tr.run("showcurrent", "0000 DATA END WITH '.'\nCurrent Markov Node 0 \"\" (0,..,1)\n.\n1000 Success\n\nVDEwf$ ")
	tr.run("markov-setnode 1", ok)
	tr.run("showcurrent", "0000 DATA END WITH '.'\nCurrent Markov Node 1 \"bad\" (0,..,1)\n.\n1000 Success\n\nVDEwf$ ")
	tr.run("markov-setnode 0", ok)
	tr.run("setedge 0,1,30", ok)
	tr.run("showedges 0", "0000 DATA END WITH '.'\nEdge 0 ->0  \"\"->\"\" weigth 70\nEdge 0 ->1  \"\"->\"bad\" weigth 30\n.\n1000 Success\n\nVDEwf$ ")
	tr.run("setedge 0,7,30", "1022 Invalid argument\n\nVDEwf$ ")
	tr.run("markov-numnodes 1", ok)
	tr.run("markov-debug 1", ok)
	tr.run("logout", "1-01 Unknown error -1\n")
}

func TestConsoleBidirectional(t *testing.T) {
	tr := newTranscript(t, 2)
	for _, c := range []string{"loss 5", "delay LR 10+5N", "band 128+64KN", "mtu 1500"} {
		tr.run(c, ok)
	}
	tr.run("showinfo", biInfo)
}

func TestConsoleBadValues(t *testing.T) {
	// The original answers 1000 Success to all of these and changes
	// nothing (or sets a partial value); govde rejects them.
	tr := newTranscript(t, 2)
	for _, c := range []string{"delay abc", "delay", "delayfoo 3", "loss 128K+64", "dup 10NK", "mtu LR", "band 1+", "delay 10 20", "loss nan", "loss inf", "loss 10[1]", "loss 10[x]", "speed 1e999"} {
		tr.run(c, "1022 Invalid argument\n\nVDEwf$ ")
	}
	tr.run("showinfo", strings.Replace(strings.Replace(strings.Replace(strings.Replace(biInfo,
		"5+0U", "0+0U", 2), "10+5N", "0+0U", 1), "131072+65536N", "0+0U", 2), "1500", "0", 2))
}

func TestConsoleLoadEcho(t *testing.T) {
	dir := t.TempDir()
	rc := filepath.Join(dir, "rc")
	os.WriteFile(rc, []byte("delay 10+5N\n# comment\n\nloss LR5\nfoo\n"), 0600)
	tr := newTranscript(t, 1)
	p := "\nVDEwf$  (" + rc + ") "
	tr.run("load "+rc, "0000 DATA END WITH '.'\n"+p+"delay 10+5N\n1000 Success\n"+p+"# comment\n"+p+"\n\n"+p+"loss LR5\n1000 Success\n"+p+"foo\n1038 Function not implemented\n.\n1000 Success\n\nVDEwf$ ")
	if got := tr.c.Params(LR)[Delay]; got != (Value{V: 10, Plus: 5, Normal: true}) {
		t.Fatalf("load did not set the delay: %+v", got)
	}
	// A file loading itself stops at the nesting limit instead of
	// exhausting the stack.
	os.WriteFile(rc, []byte("load "+rc+"\n"), 0600)
	tr.out.Reset()
	tr.s.Exec("load " + rc)
	if !strings.Contains(tr.out.String(), "1040 Too many levels of symbolic links") {
		t.Fatalf("nested load: %q", tr.out.String())
	}
}

func TestConsoleShutdown(t *testing.T) {
	done := make(chan struct{})
	out := &bytes.Buffer{}
	c := NewControl(ControlOptions{OnShutdown: func() { close(done) }})
	s := c.NewSession(out)
	if s.Exec("shutdown") {
		t.Fatal("the session goes on after shutdown")
	}
	<-done
	if out.Len() != 0 {
		t.Fatalf("shutdown printed %q", out.String())
	}
	if s.Exec("help") {
		t.Fatal("commands run after shutdown")
	}
}

func TestRunScriptErrors(t *testing.T) {
	var logged []string
	c := NewControl(ControlOptions{Logf: func(f string, a ...any) { logged = append(logged, strings.TrimSpace(f)) }})
	rc := filepath.Join(t.TempDir(), "rc")
	os.WriteFile(rc, []byte("loss 20\nbogus\nmarkov-debug 1\n"), 0600)
	if err := c.RunScript(rc); err != nil {
		t.Fatal(err)
	}
	if len(logged) != 2 {
		t.Fatalf("logged %q", logged)
	}
	if c.Params(LR)[Loss].V != 20 {
		t.Fatal("rc file not applied")
	}
	if err := c.RunScript(rc + ".missing"); err == nil {
		t.Fatal("a missing rc file is not an error")
	}
}

// lockedBuffer is a bytes.Buffer safe for the Markov timer's writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestMarkovSwitchesParams(t *testing.T) {
	g := newRig(t, Options{}, 0)
	c := NewControl(ControlOptions{Seed: 1})
	t.Cleanup(c.Close)
	c.Attach(g.w)
	out := &lockedBuffer{}
	s := c.NewSession(out)
	defer s.Close()
	for _, cmd := range []string{"markov-numnodes 2", "markov-name 1,down", "loss 100[1]", "setedge 0,1,100", "setedge 1,0,100", "markov-debug 1", "markov-time 20"} {
		if !s.Exec(cmd) {
			t.Fatal(cmd)
		}
	}
	// The chain alternates every 20 ms: node 1 loses everything.
	deadline := time.Now().Add(3 * time.Second)
	seen := map[float64]bool{}
	for time.Now().Before(deadline) && len(seen) < 2 {
		c.mu.Lock()
		p := c.params(c.current, LR)
		c.mu.Unlock()
		seen[p[Loss].V] = true
		time.Sleep(3 * time.Millisecond)
	}
	if !seen[0] || !seen[100] {
		t.Fatalf("Markov chain did not alternate: %v", seen)
	}
	// The stage follows: frames sent over a few periods are partly lost.
	for i := 0; i < 200; i++ {
		g.l.in <- frame(uint64(i), 64)
		time.Sleep(time.Millisecond)
	}
	st := waitIn(t, g.w, LR, 200)
	if st.DropLoss == 0 || st.DropLoss == 200 {
		t.Errorf("the stage did not follow the chain: %d of 200 lost", st.DropLoss)
	}
	// markov-debug 1 reports every change of node.
	deadline = time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) && !(strings.Contains(out.String(), "3801 Node 0 \"\" -> 1 \"down\"\n") && strings.Contains(out.String(), "3800 Node 1 \"down\" -> 0 \"\"\n")) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "3801 Node 0 \"\" -> 1 \"down\"") {
		t.Errorf("no debug line for the changes of node: %q", out.String())
	}
}

func TestMgmtSocket(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mgmt")
	c := NewControl(ControlOptions{Dirs: 1})
	m, err := c.ListenMgmt(path, 0700)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListenMgmt(path, 0700); err == nil {
		t.Fatal("a second socket on the same path")
	}
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	read := func(want string) {
		t.Helper()
		buf := make([]byte, len(want))
		conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		n := 0
		for n < len(want) {
			k, err := conn.Read(buf[n:])
			if err != nil {
				t.Fatalf("read: %v after %q", err, buf[:n])
			}
			n += k
		}
		if string(buf) != want {
			t.Fatalf("got %q want %q", buf, want)
		}
	}
	read(Banner + Prompt)
	conn.Write([]byte("showinfo"))
	read(monoInfo)
	// Two commands in one write are two commands (the original swallows
	// the second).
	conn.Write([]byte("loss 10\nshowinfo\n"))
	read(ok + strings.Replace(monoInfo, "Loss   0+0U", "Loss   10+0U", 1))
	conn.Write([]byte("logout\n"))
	read("1-01 Unknown error -1\n")
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	if n, err := conn.Read(make([]byte, 1)); err == nil {
		t.Fatalf("connection still open after logout (%d bytes)", n)
	}
	m.Close()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("socket file left behind")
	}
}
