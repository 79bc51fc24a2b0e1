package interop

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// filterChecks drives a wirefilter joining two switches through its
// management socket mg: a is a plug on the left switch, b on the right one.
// Each setting must take effect, in its direction only.
func cabFilterChecks(t *testing.T, mg string, a, b *plug) {
	t.Helper()
	w, banner := dialWF(t, mg)
	if banner != "\nVDE wirefilter V.2.3.2\n(C) R.Davoli 2005,2006 - GPLv2\n"+wfPrompt {
		t.Fatalf("banner %q", banner)
	}
	f := cabFrame(1, 0, 60)
	a.send(t, f)
	b.expect(t, "L->R", f)
	g := cabFrame(2, 0, 60)
	b.send(t, g)
	a.expect(t, "R->L", g)

	// mtu 100 passes frames of up to 98 bytes (the size counts 2 more).
	w.must(t, "mtu 100")
	a.send(t, cabFrame(1, 1, 98))
	b.expect(t, "98 bytes under mtu 100", cabFrame(1, 1, 98))
	a.send(t, cabFrame(1, 2, 99))
	b.quiet(t, "99 bytes under mtu 100")
	w.must(t, "mtu 0")

	// loss LR100 drops everything left to right, nothing right to left.
	w.must(t, "loss LR100")
	cabBurst(t, a, 1, 5, 60)
	cabBurst(t, b, 2, 5, 60)
	if got := cabCollect(b, 300*time.Millisecond); len(got) != 0 {
		t.Fatalf("loss LR100: %d frames crossed L->R", len(got))
	}
	if got := cabCollect(a, 300*time.Millisecond); len(got) != 5 {
		t.Fatalf("loss LR100: %d of 5 frames crossed R->L", len(got))
	}
	w.must(t, "loss 0")

	// delay LR300 delays left to right only.
	w.must(t, "delay LR300")
	t0 := time.Now()
	a.send(t, cabFrame(1, 3, 60))
	if b.recv(3*time.Second) == nil {
		t.Fatal("delay LR300: frame lost")
	}
	if d := time.Since(t0); d < 280*time.Millisecond || d > 1500*time.Millisecond {
		t.Fatalf("delay LR300: L->R took %v", d)
	}
	t0 = time.Now()
	b.send(t, cabFrame(2, 3, 60))
	if a.recv(3*time.Second) == nil {
		t.Fatal("delay LR300: R->L frame lost")
	}
	if d := time.Since(t0); d > 200*time.Millisecond {
		t.Fatalf("delay LR300 slowed R->L: %v", d)
	}
	w.must(t, "delay 0")

	// bandwidth 10000 B/s: 20 × 502 B take about a second.
	w.must(t, "bandwidth LR10000")
	t0 = time.Now()
	cabBurst(t, a, 1, 20, 500)
	n := 0
	var last time.Time
	for n < 20 {
		if b.recv(3*time.Second) == nil {
			t.Fatalf("bandwidth: %d of 20 frames", n)
		}
		n++
		last = time.Now()
	}
	if d := last.Sub(t0); d < 850*time.Millisecond || d > 2500*time.Millisecond {
		t.Fatalf("bandwidth 10000: 20 × 500 B took %v, want about 1 s", d)
	}
	w.must(t, "bandwidth 0")

	// dup LR50 sends each frame twice on average.
	w.must(t, "dup LR50")
	cabBurst(t, a, 1, 40, 60)
	if got := cabCollect(b, 400*time.Millisecond); len(got) < 55 || len(got) > 200 {
		t.Fatalf("dup 50: %d frames for 40", len(got))
	}
	w.must(t, "dup 0")
	if out := w.cmd(t, "logout"); out != "1-01 Unknown error -1\n" {
		t.Fatalf("logout: %q", out)
	}
}

// The real wirefilter as the middle stage of our dpipe, between our plugs
// and our switches.
func TestRealWirefilterInOurDpipe(t *testing.T) {
	wf := real(t, "wirefilter")
	dirL, _ := switchProc(t, bin("vde_switch"))
	dirR, _ := switchProc(t, bin("vde_switch"))
	mg := cabSock(t, "wf.mgmt")
	start(t, bin("dpipe"), bin("vde_plug"), dirL, "=", wf, "-M", mg, "=", bin("vde_plug"), dirR)
	waitPorts(t, dirL, 1)
	waitPorts(t, dirR, 1)
	a := startPlug(t, bin("vde_plug"), dirL)
	b := startPlug(t, bin("vde_plug"), dirR)
	waitPorts(t, dirL, 2)
	waitPorts(t, dirR, 2)
	cabFilterChecks(t, mg, a, b)
}

// Our wirefilter in the real dpipe, between real plugs and real switches.
func TestOurWirefilterBetweenRealPlugs(t *testing.T) {
	vp := real(t, "vde_plug")
	dirL, _ := switchProc(t, real(t, "vde_switch"))
	dirR, _ := switchProc(t, real(t, "vde_switch"))
	mg := cabSock(t, "wf.mgmt")
	start(t, real(t, "dpipe"), vp, dirL, "=", ourWirefilter(t), "-M", mg, "=", vp, dirR)
	waitPorts(t, dirL, 1)
	waitPorts(t, dirR, 1)
	a := startPlug(t, vp, dirL)
	b := startPlug(t, vp, dirR)
	waitPorts(t, dirL, 2)
	waitPorts(t, dirR, 2)
	cabFilterChecks(t, mg, a, b)
}

// wfScript is run on the real wirefilter and on ours; the transcripts must
// be identical byte for byte. It avoids the values govde rejects on purpose
// (see COMPATIBILITY.md) and stops the Markov clock so nothing is random.
func cabScript(rc string) []string {
	return []string{
		"help", "showinfo", "loss 5", "lostburst RL 3", "delay LR 10+5N", "dup 1.5", "band 128+64KN",
		"bandwidth RL 1.5M", "speed 1M", "noise 10u", "mtu 1500", "capacity 100000", "chanbufsize RL 20000",
		"showinfo", "fifo 1", "showinfo", "fifo 0", "showinfo", "foo", "   ", "# a comment", "showinfo 3",
		"load " + rc, "load /nonexistent/rc", "showinfo",
		"markov-time 100000000", "markov-numnodes 3", "markov-name 1,bad", "markov-name 2 , worse",
		"setedge 0,1,30", "setedge 0,2,20.5", "showedges", "showedges 1", "showcurrent", "showinfo",
		"loss 7[2]", "markov-setnode 2", "showinfo", "showinfo 1", "showcurrent", "markov-setnode 0",
		"markov-numnodes 1", "showinfo", "markov-debug 1", "logout",
	}
}

func cabTranscript(t *testing.T, mg string, script []string) []string {
	t.Helper()
	w, banner := dialWF(t, mg)
	out := []string{banner}
	for _, c := range script {
		out = append(out, c+" => "+w.cmd(t, c))
	}
	return out
}

func cabWriteRC(t *testing.T) string {
	rc := filepath.Join(t.TempDir(), "wf.rc")
	os.WriteFile(rc, []byte("delay 10+5N\n# comment\n\n \nloss LR5\nfoo\nshowinfo\nmtu 900\n"), 0600)
	return rc
}

func cabCompare(t *testing.T, real, ours []string) {
	t.Helper()
	if len(real) != len(ours) {
		t.Fatalf("transcripts differ in length: %d real, %d ours", len(real), len(ours))
	}
	for i := range real {
		if real[i] != ours[i] {
			t.Errorf("step %d differs:\nreal %q\nours %q", i, real[i], ours[i])
		}
	}
}

func TestWirefilterConsoleMatchesRealMono(t *testing.T) {
	wf := real(t, "wirefilter")
	rc := cabWriteRC(t)
	blink := cabSock(t, "blink")
	var tr [2][]string
	for i, exe := range []string{wf, ourWirefilter(t)} {
		mg := cabSock(t, "wf.mgmt")
		p := cabStartStream(t, exe, "-M", mg, "--blink", blink, "--blinkid", "WF1", "-N", "-d", "20")
		tr[i] = cabTranscript(t, mg, cabScript(rc))
		p.stdin.Close()
		if code := p.Wait(t, 3*time.Second); code != 0 {
			t.Fatalf("%s exit %d on EOF: %s", exe, code, p.stderr)
		}
		if got := p.stderr.String(); got != "wirefilter: monodirectional filter starting...\n" {
			t.Errorf("%s stderr %q", exe, got)
		}
	}
	cabCompare(t, tr[0], tr[1])
}

func TestWirefilterConsoleMatchesRealBidirectional(t *testing.T) {
	wf := real(t, "wirefilter")
	rc := cabWriteRC(t)
	var tr [2][]string
	for i, exe := range []string{wf, ourWirefilter(t)} {
		mg := cabSock(t, "wf.mgmt")
		// cat ends (no traffic) exit when the filter goes, so the chain
		// collapses at the end of the test
		start(t, bin("dpipe"), "cat", "=", exe, "-M", mg, "-l", "LR7", "-m", "1400", "=", "cat")
		tr[i] = cabTranscript(t, mg, cabScript(rc))
	}
	cabCompare(t, tr[0], tr[1])
}

// Blink datagrams: "<id> <dir> <size>\n" per packet, the same from both.
func TestWirefilterBlinkMatchesReal(t *testing.T) {
	wf := real(t, "wirefilter")
	path := cabSock(t, "blink")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, exe := range []string{wf, ourWirefilter(t)} {
		p := cabStartStream(t, exe, "--blink", path, "--blinkid", "WF1")
		f := cabFrame(1, 1, 97)
		p.send(t, f)
		p.expect(t, "through "+exe, f)
		buf := make([]byte, 64)
		ln.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, err := ln.Read(buf)
		if err != nil {
			t.Fatalf("%s: no blink datagram: %v", exe, err)
		}
		if string(buf[:n]) != "WF1 -- 99\n" {
			t.Fatalf("%s: blink %q", exe, buf[:n])
		}
		p.stdin.Close()
		p.Wait(t, 3*time.Second)
	}
}

// cabVProc is a process whose stdin is a console we type into and whose
// stdout we read.
type cabVProc struct {
	*proc
	out *bufio.Reader
}

func cabStartV(t *testing.T, argv ...string) *cabVProc {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	p := &proc{cmd: cmd, stderr: &syncBuf{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(p.Stop)
	return &cabVProc{proc: p, out: bufio.NewReader(out)}
}

// console types line and reads the answer up to the prompt.
func (v *cabVProc) console(t *testing.T, line string) string {
	t.Helper()
	v.stdin.Write([]byte(line))
	got := make(chan string, 1)
	go func() {
		var b bytes.Buffer
		for !bytes.HasSuffix(b.Bytes(), []byte(wfPrompt)) {
			c, err := v.out.ReadByte()
			if err != nil {
				break
			}
			b.WriteByte(c)
		}
		got <- b.String()
	}()
	select {
	case s := <-got:
		return s
	case <-time.After(5 * time.Second):
		t.Fatalf("no answer to %q on the console", line)
		return ""
	}
}

// -v mode: the filter is itself the cable between two switches, its stdin
// and stdout are a console (no banner); the two consoles answer the same.
// When a switch goes away ours exits (the original busy-loops).
func TestWirefilterVMode(t *testing.T) {
	wf := real(t, "wirefilter")
	vp := real(t, "vde_plug")
	var answers [2]string
	for i, exe := range []string{wf, ourWirefilter(t)} {
		dirL, _ := switchProc(t, real(t, "vde_switch"))
		dirR, swR := switchProc(t, real(t, "vde_switch"))
		v := cabStartV(t, exe, "-v", dirL+":"+dirR, "-d", "LR200")
		waitPorts(t, dirL, 1)
		waitPorts(t, dirR, 1)
		a := startPlug(t, vp, dirL)
		b := startPlug(t, vp, dirR)
		waitPorts(t, dirL, 2)
		waitPorts(t, dirR, 2)
		t0 := time.Now()
		a.send(t, cabFrame(1, 1, 80))
		if b.recv(3*time.Second) == nil {
			t.Fatalf("%s: L->R frame lost", exe)
		}
		if d := time.Since(t0); d < 180*time.Millisecond {
			t.Fatalf("%s: -d LR200 gave %v", exe, d)
		}
		t0 = time.Now()
		b.send(t, cabFrame(2, 1, 80))
		if a.recv(3*time.Second) == nil {
			t.Fatalf("%s: R->L frame lost", exe)
		}
		if d := time.Since(t0); d > 150*time.Millisecond {
			t.Fatalf("%s: R->L took %v", exe, d)
		}
		answers[i] = v.console(t, "showinfo\n") + v.console(t, "delay 0\n") + v.console(t, "nosuch\n")
		if !strings.Contains(v.stderr.String(), "wirefilter: bidirectional vdeplug filter L="+dirL+" R="+dirR+" starting...") {
			t.Errorf("%s: startup message %q", exe, v.stderr)
		}
		if exe == wf {
			v.Stop() // before its switch goes: it would spin
			continue
		}
		swR.Stop()
		if code := v.Wait(t, 3*time.Second); code != 0 {
			t.Fatalf("our -v filter exit %d after its switch went: %s", code, v.stderr)
		}
	}
	if answers[0] != answers[1] {
		t.Fatalf("-v console differs:\nreal %q\nours %q", answers[0], answers[1])
	}
}

// Stream robustness: frames over 1521 bytes pass (the original drops
// them), garbage is dropped and the next frame gets through, and a noise
// level that hangs the original still lets frames and the console work.
func TestWirefilterStreamInput(t *testing.T) {
	wf := real(t, "wirefilter")
	big := cabFrame(1, 1, 1600)
	small := cabFrame(1, 2, 60)

	r := cabStartStream(t, wf)
	r.send(t, big)
	r.quiet(t, "the real wirefilter (drops frames over 1521 bytes)")
	time.Sleep(50 * time.Millisecond)
	r.send(t, small)
	r.expect(t, "real, after the long frame", small)

	o := cabStartStream(t, ourWirefilter(t))
	o.send(t, big)
	o.expect(t, "ours, 1600 bytes", big)
	jumbo := cabFrame(1, 3, 9000)
	o.send(t, jumbo)
	o.expect(t, "ours, 9000 bytes", jumbo)
	// an impossible length, then junk: dropped; the next write is a frame.
	o.stdin.Write(append([]byte{0xff, 0xfe}, bytes.Repeat([]byte{0xa5}, 300)...))
	time.Sleep(100 * time.Millisecond)
	o.send(t, small)
	o.expect(t, "ours, the frame after garbage", small)
	if !strings.Contains(o.stderr.String(), "packet length error") {
		t.Errorf("garbage was not reported: %q", o.stderr)
	}

	mg := cabSock(t, "wf.mgmt")
	n := cabStartStream(t, ourWirefilter(t), "-n", "100000", "-M", mg)
	for i := 0; i < 20; i++ {
		n.send(t, cabFrame(1, uint32(i), 300))
	}
	for i := 0; i < 20; i++ {
		if n.recv(3*time.Second) == nil {
			t.Fatalf("noise 100000: frame %d lost (hang?)", i)
		}
	}
	w, _ := dialWF(t, mg)
	if out := w.cmd(t, "showinfo"); !strings.Contains(out, "Noise  100000+0U") {
		t.Fatalf("showinfo under heavy noise: %q", out)
	}
}

// Bad values: our console and command line reject what the original
// silently ignores; the filter keeps serving.
func TestWirefilterBadValues(t *testing.T) {
	wf := ourWirefilter(t)
	p := cabStartStream(t, wf, "-d", "abc")
	if code := p.Wait(t, 3*time.Second); code != 1 || !strings.Contains(p.stderr.String(), `invalid value for --delay: "abc"`) {
		t.Fatalf("-d abc: exit %d, %q", code, p.stderr)
	}
	mg := cabSock(t, "wf.mgmt")
	s := cabStartStream(t, wf, "-M", mg)
	w, _ := dialWF(t, mg)
	for _, bad := range []string{"delay abc", "loss 128K+64", "mtu LR", "dup 10NK", "loss 5[3]", "speed 1 2"} {
		if out := w.cmd(t, bad); out != "1022 Invalid argument\n"+wfPrompt {
			t.Errorf("%q: %q", bad, out)
		}
	}
	f := cabFrame(1, 1, 60)
	s.send(t, f)
	s.expect(t, "after bad values", f)
}
