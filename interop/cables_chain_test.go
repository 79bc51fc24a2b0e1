package interop

import (
	"fmt"
	"net"
	"os"
	"testing"
	"time"
)

// cabSwitches starts two of our switches, each with one host plug, and
// returns the directories and the hosts.
func cabSwitches(t *testing.T) (dirA, dirB string, a, b *plug) {
	t.Helper()
	dirA, _ = switchProc(t, bin("vde_switch"))
	dirB, _ = switchProc(t, bin("vde_switch"))
	a = startPlug(t, bin("vde_plug"), dirA)
	b = startPlug(t, bin("vde_plug"), dirB)
	waitPorts(t, dirA, 1)
	waitPorts(t, dirB, 1)
	return
}

// cabCrosses checks that frames cross the cable between a and b both ways.
func cabCrosses(t *testing.T, what string, a, b *plug) {
	t.Helper()
	f := eth(bcast, mac(1), what+" a->b")
	a.send(t, f)
	b.expect(t, what+" a->b", f)
	g := eth(bcast, mac(2), what+" b->a")
	b.send(t, g)
	a.expect(t, what+" b->a", g)
}

// A cable made of a plug and a remote command: "ssh host vde_plug B" with
// sh -c standing in for ssh, in dpipe and in vde_plug's "= command" form,
// plain and compressed.
func TestCableThroughCommand(t *testing.T) {
	for _, form := range []string{"dpipe", "plug=", "dpipe-zstd"} {
		t.Run(form, func(t *testing.T) {
			dirA, dirB, a, b := cabSwitches(t)
			var p *proc
			switch form {
			case "dpipe":
				p = start(t, bin("dpipe"), bin("vde_plug"), dirA, "=", "sh", "-c", "exec "+bin("vde_plug")+" "+dirB)
			case "plug=":
				p = start(t, bin("vde_plug"), dirA, "=", "sh", "-c", "exec "+bin("vde_plug")+" "+dirB)
			case "dpipe-zstd":
				p = start(t, bin("dpipe"), bin("vde_plug"), "--compress=zstd", dirA, "=", "sh", "-c", "exec "+bin("vde_plug")+" --compress=zstd "+dirB)
			}
			waitPorts(t, dirA, 2)
			waitPorts(t, dirB, 2)
			cabCrosses(t, form, a, b)
			p.Stop()
			// the far plug sees EOF and leaves the switch
			waitFor(t, func() bool { return cabPorts(dirB) == 1 }, "the far plug to leave")
		})
	}
}

func cabPorts(dir string) int {
	ents, _ := os.ReadDir(dir)
	c := 0
	for _, e := range ents {
		if n := e.Name(); len(n) > 4 && n[3] == '.' {
			c++
		}
	}
	return c
}

// A cable over TCP, netcat style: socat listens and runs the far plug, the
// near plug runs socat as its "= command".
func TestCableThroughSocat(t *testing.T) {
	socat := real(t, "socat")
	dirA, dirB, a, b := cabSwitches(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	start(t, socat, fmt.Sprintf("TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr", port), "EXEC:"+bin("vde_plug")+" "+dirB)
	start(t, bin("vde_plug"), dirA, "=", socat, "-", fmt.Sprintf("TCP:127.0.0.1:%d,retry=50,interval=0.1", port))
	waitPorts(t, dirA, 2)
	waitPorts(t, dirB, 2)
	cabCrosses(t, "socat", a, b)
}

// dpipe chains of filters: three of our wirefilters in a row, each with its
// own console; and one-way stages (=} }= and ={ {=), with our dpipe and the
// real one.
func TestChainOfFilters(t *testing.T) {
	wf := ourWirefilter(t)
	dirA, dirB, a, b := cabSwitches(t)
	dir := t.TempDir()
	m := [3]string{dir + "/m1", dir + "/m2", dir + "/m3"}
	p := start(t, bin("dpipe"), bin("vde_plug"), dirA, "=", wf, "-M", m[0], "=", wf, "-M", m[1], "=", wf, "-M", m[2], "=", bin("vde_plug"), dirB)
	waitPorts(t, dirA, 2)
	waitPorts(t, dirB, 2)
	cabCrosses(t, "3 filters", a, b)
	w2, _ := dialWF(t, m[1])
	w2.must(t, "loss LR100")
	a.send(t, eth(bcast, mac(1), "lost"))
	b.quiet(t, "loss LR100 on the middle filter")
	g := eth(bcast, mac(2), "R->L still")
	b.send(t, g)
	a.expect(t, "R->L with loss LR100", g)
	w2.must(t, "loss 0")
	w3, _ := dialWF(t, m[2])
	w3.must(t, "delay LR150")
	t0 := time.Now()
	a.send(t, eth(bcast, mac(1), "late"))
	if b.recv(3*time.Second) == nil || time.Since(t0) < 140*time.Millisecond {
		t.Fatalf("delay LR150 on the last filter: %v", time.Since(t0))
	}
	// killing a plug collapses the whole chain
	b.stdin.Close()
	p.cmd.Process.Signal(os.Interrupt)
	p.Wait(t, 5*time.Second)
	for _, s := range m {
		waitFor(t, func() bool { _, err := os.Stat(s); return os.IsNotExist(err) }, "filter "+s+" to exit")
	}
}

func TestOneWayFilterStage(t *testing.T) {
	wf := ourWirefilter(t)
	for _, dp := range []string{bin("dpipe"), real(t, "dpipe")} {
		for _, way := range []string{"LR", "RL"} {
			dirA, dirB, a, b := cabSwitches(t)
			open, close := "=}", "}="
			if way == "RL" {
				open, close = "={", "{="
			}
			start(t, dp, bin("vde_plug"), dirA, open, wf, "-d", "200", close, bin("vde_plug"), dirB)
			waitPorts(t, dirA, 2)
			waitPorts(t, dirB, 2)
			slow, fast := [2]*plug{a, b}, [2]*plug{b, a}
			if way == "RL" {
				slow, fast = fast, slow
			}
			t0 := time.Now()
			slow[0].send(t, eth(bcast, mac(1), "through the filter"))
			if slow[1].recv(3*time.Second) == nil {
				t.Fatalf("%s %s: frame lost", dp, way)
			}
			if d := time.Since(t0); d < 180*time.Millisecond {
				t.Fatalf("%s: the %s filter stage did not delay (%v)", dp, way, d)
			}
			t0 = time.Now()
			fast[0].send(t, eth(bcast, mac(2), "around the filter"))
			if fast[1].recv(3*time.Second) == nil {
				t.Fatalf("%s %s: frame lost the other way", dp, way)
			}
			if d := time.Since(t0); d > 150*time.Millisecond {
				t.Fatalf("%s: the other direction of a %s-only stage took %v", dp, way, d)
			}
		}
	}
}
