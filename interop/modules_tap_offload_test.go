package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Our tap:// reads and writes 64 KB super-packets (virtio-net offloads) but
// must put only ordinary frames on the wire: a TCP transfer between a
// namespace on our offload tap and one on the real vde_plug's tap (which
// drops anything over 1518 bytes) arrives intact in both directions, through
// our switch and through the real one.
func TestModulesTapOffloadWithRealPlug(t *testing.T) {
	tapNeedNetns(t)
	realPlug := real(t, "vde_plug")
	if _, err := exec.LookPath("socat"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("socat not installed")
		}
		t.Skip("socat not installed")
	}
	for _, sw := range []string{"ours", "real"} {
		t.Run(sw, func(t *testing.T) {
			exe := bin("vde_switch")
			if sw == "real" {
				exe = real(t, "vde_switch")
			}
			dir, _ := switchProc(t, exe)
			a, b := tapNetns(t), tapNetns(t)
			tapInNetns(t, a, bin("vde_plug"), "tap://gvoA", "vde://"+dir)
			tapInNetns(t, b, realPlug, "tap://gvoB", "vde://"+dir)
			tapAddr(t, a, "gvoA", "10.77.3.1/24", 1500)
			tapAddr(t, b, "gvoB", "10.77.3.2/24", 1500)
			if got := tapPing(t, a, "10.77.3.2", 1500, 3); got != 3 {
				t.Fatalf("%d of 3 echo replies", got)
			}
			tcpCopy(t, a, b, "10.77.3.2", 8<<20) // offload -> plain
			tcpCopy(t, b, a, "10.77.3.1", 8<<20) // plain -> offload
		})
	}
}

// tcpCopy sends n random bytes over TCP from namespace src to a socat
// listening in namespace dst on addr:5001 and checks they arrived intact.
func tcpCopy(t *testing.T, src, dst, addr string, n int) {
	t.Helper()
	tmp := t.TempDir()
	in, out := filepath.Join(tmp, "in"), filepath.Join(tmp, "out")
	data := make([]byte, n)
	rand.Read(data)
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	srv := tapInNetns(t, dst, "socat", "-u", "TCP-LISTEN:5001,reuseaddr,bind="+addr, "CREATE:"+out)
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := exec.CommandContext(ctx, "ip", "netns", "exec", src, "socat", "-u", "FILE:"+in, "TCP:"+addr+":5001")
	if o, err := cl.CombinedOutput(); err != nil {
		t.Fatalf("socat client: %v: %s (server: %s)", err, o, srv.stderr)
	}
	if code := srv.Wait(t, 20*time.Second); code != 0 {
		t.Fatalf("socat server exit %d: %s", code, srv.stderr)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n || !bytes.Equal(sha(got), sha(data)) {
		t.Fatalf("%d bytes arrived of %d, or corrupted", len(got), n)
	}
	t.Logf("%d MB %s -> %s in %v", n>>20, src, dst, time.Since(start).Round(time.Millisecond))
}

func sha(p []byte) []byte { s := sha256.Sum256(p); return s[:] }
