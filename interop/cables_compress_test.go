package interop

import (
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// cabRawProc is a process whose stdin and stdout the test relays as bytes.
type cabRawProc struct {
	*proc
	out io.ReadCloser
}

func cabStartRaw(t *testing.T, argv ...string) *cabRawProc {
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
	r := &cabRawProc{proc: p, out: out}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(p.Stop)
	return r
}

// relay joins two stream plugs like a cable (ssh, netcat) would, counting
// the bytes that cross in each direction.
func cabRelay(a, b *cabRawProc) (ab, ba *atomic.Int64) {
	ab, ba = new(atomic.Int64), new(atomic.Int64)
	cp := func(dst io.WriteCloser, src io.Reader, n *atomic.Int64) {
		buf := make([]byte, 64<<10)
		for {
			k, err := src.Read(buf)
			if k > 0 {
				n.Add(int64(k))
				if _, werr := dst.Write(buf[:k]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		dst.Close()
	}
	go cp(b.stdin, a.out, ab)
	go cp(a.stdin, b.out, ba)
	return ab, ba
}

// text returns a compressible frame: a text protocol payload.
func cabText(src byte, seq int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "seq=%06d GET /files/report-%d.csv HTTP/1.1\r\nHost: intranet.example\r\nAccept: text/csv\r\n\r\n", seq, seq%17)
	for b.Len() < 200+(seq*37)%1200 {
		fmt.Fprintf(&b, "%d,%d,ok,%s;", seq%13, b.Len()%97, "sample-data-row")
	}
	return eth(mac(2), mac(src), b.String())
}

// A compressed cable between two of our switches: frames arrive byte for
// byte, with far fewer bytes on the wire than the frames carried.
func TestCompressedCable(t *testing.T) {
	for _, alg := range []string{"zstd", "s2"} {
		t.Run(alg, func(t *testing.T) {
			dirA, _ := switchProc(t, bin("vde_switch"))
			dirB, _ := switchProc(t, bin("vde_switch"))
			ca := cabStartRaw(t, bin("vde_plug"), "--compress="+alg, dirA)
			cb := cabStartRaw(t, bin("vde_plug"), "--compress="+alg, dirB)
			ab, ba := cabRelay(ca, cb)
			waitPorts(t, dirA, 1)
			waitPorts(t, dirB, 1)
			a := startPlug(t, bin("vde_plug"), dirA)
			b := startPlug(t, bin("vde_plug"), dirB)
			waitPorts(t, dirA, 2)
			waitPorts(t, dirB, 2)
			// b introduces itself so that a's frames are unicast to it.
			hello := eth(bcast, mac(2), "hello")
			b.send(t, hello)
			a.expect(t, "hello through the compressed cable", hello)
			const n = 600
			raw := 0
			for i := 0; i < n; i++ {
				f := cabText(1, i)
				raw += len(f) + 2
				a.send(t, f)
				if i%4 == 3 {
					time.Sleep(time.Millisecond) // unix datagram queues hold 10
				}
			}
			for i := 0; i < n; i++ {
				got := b.recv(5 * time.Second)
				if got == nil {
					t.Fatalf("%d of %d frames arrived", i, n)
				}
				if !bytes.Equal(got, cabText(1, i)) {
					t.Fatalf("frame %d differs: % x…", i, got[:min(40, len(got))])
				}
			}
			wire := ab.Load() - 14 // the negotiation header
			ratio := float64(wire) / float64(raw)
			t.Logf("%s: %d frames, %d bytes of frames (with length headers), %d bytes on the wire: ratio %.3f (%.1f×); other way %d bytes",
				alg, n, raw, wire, ratio, 1/ratio, ba.Load())
			if wire >= int64(raw)/2 {
				t.Fatalf("%s: %d wire bytes for %d bytes of compressible frames", alg, wire, raw)
			}
		})
	}
}

// A compressed plug facing a plain real vde_plug fails with a clear error
// on our side as soon as the plain side speaks; nothing reaches the hosts.
func TestCompressedAgainstPlainPlug(t *testing.T) {
	vp := real(t, "vde_plug")
	for _, plain := range []string{vp, bin("vde_plug")} {
		dirA, _ := switchProc(t, bin("vde_switch"))
		dirB, _ := switchProc(t, real(t, "vde_switch"))
		ours := cabStartRaw(t, bin("vde_plug"), "--compress=zstd", dirA)
		other := cabStartRaw(t, plain, dirB)
		cabRelay(ours, other)
		waitPorts(t, dirA, 1)
		waitPorts(t, dirB, 1)
		a := startPlug(t, bin("vde_plug"), dirA)
		b := startPlug(t, vp, dirB)
		waitPorts(t, dirB, 2)
		b.send(t, eth(bcast, mac(2), "plain frame"))
		code := ours.Wait(t, 5*time.Second)
		if code != 1 || !strings.Contains(ours.stderr.String(), "compress: the peer sent plain vdestream data") {
			t.Fatalf("against %s: exit %d, stderr %q", plain, code, ours.stderr)
		}
		a.quiet(t, "host on our side")
		b.quiet(t, "host on the plain side (the header is a runt)")
	}
}

// Two compressed plugs that disagree on the algorithm both stop.
func TestCompressedMismatch(t *testing.T) {
	dirA, _ := switchProc(t, bin("vde_switch"))
	dirB, _ := switchProc(t, bin("vde_switch"))
	z := cabStartRaw(t, bin("vde_plug"), "--compress=zstd", dirA)
	s := cabStartRaw(t, bin("vde_plug"), "--compress=s2", dirB)
	cabRelay(z, s)
	for _, p := range []*cabRawProc{z, s} {
		if code := p.Wait(t, 5*time.Second); code != 1 || !strings.Contains(p.stderr.String(), "the peer compresses with") {
			t.Fatalf("exit %d, stderr %q", code, p.stderr)
		}
	}
	bad := cabStartRaw(t, bin("vde_plug"), "--compress=zstd", dirA, dirB)
	if code := bad.Wait(t, 3*time.Second); code != 255 || !strings.Contains(bad.stderr.String(), "stream forms") {
		t.Fatalf("--compress with two VNLs: exit %d, %q", code, bad.stderr)
	}
}
