package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Kernel TCP between two network namespaces runs across a cryptcab: each
// namespace has a tap joined by the real `vde_plug tap://NAME` to one of
// our switches; the switches are joined by our vde_cryptcab over
// 127.0.0.1. A 4 MiB file crosses with socat intact, and iperf3 runs.
func TestCryptcabKernelTCPAcrossNamespaces(t *testing.T) {
	ccNeedNetns(t, "iperf3", "socat")
	vp := real(t, "vde_plug")
	id := os.Getpid() % 100000
	nsA, nsB := fmt.Sprintf("ccA%d", id), fmt.Sprintf("ccB%d", id)
	tapA, tapB := fmt.Sprintf("cct%da", id), fmt.Sprintf("cct%db", id)
	ccNetns(t, nsA)
	ccNetns(t, nsB)
	dirA, _ := switchProc(t, bin("vde_switch"))
	dirB, _ := switchProc(t, bin("vde_switch"))
	start(t, "ip", "netns", "exec", nsA, vp, "tap://"+tapA, dirA)
	start(t, "ip", "netns", "exec", nsB, vp, "tap://"+tapB, dirB)
	for _, x := range []struct{ ns, tap, cidr string }{{nsA, tapA, "10.77.0.1/24"}, {nsB, tapB, "10.77.0.2/24"}} {
		waitFor(t, func() bool { return exec.Command("ip", "-n", x.ns, "link", "show", x.tap).Run() == nil }, "tap "+x.tap)
		ccIP(t, "-n", x.ns, "addr", "add", x.cidr, "dev", x.tap)
		ccIP(t, "-n", x.ns, "link", "set", x.tap, "up")
	}
	key := ccKeyFile(t)
	_, addr := ccServer(t, "-s", dirA, "-P", key)
	start(t, ourCryptcab(t), "-c", addr, "-s", dirB, "-P", key)
	waitPorts(t, dirA, 2)
	waitPorts(t, dirB, 2)

	// A file over TCP, byte for byte.
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	data := make([]byte, 4<<20)
	rand.Read(data)
	os.WriteFile(in, data, 0600)
	recv := start(t, "ip", "netns", "exec", nsB, "socat", "-u", "TCP-LISTEN:7001,reuseaddr", "CREATE:"+out)
	time.Sleep(200 * time.Millisecond)
	sendOut, err := exec.Command("ip", "netns", "exec", nsA, "socat", "-u", "OPEN:"+in, "TCP:10.77.0.2:7001,retry=50,interval=0.2").CombinedOutput()
	if err != nil {
		t.Fatalf("socat send: %v: %s", err, sendOut)
	}
	if code := recv.Wait(t, 30*time.Second); code != 0 {
		t.Fatalf("socat receive: exit %d: %s", code, recv.stderr)
	}
	got, _ := os.ReadFile(out)
	if !bytes.Equal(got, data) {
		t.Fatalf("file crossed as %d bytes, sha256 %x, want %d bytes %x", len(got), sha256.Sum256(got), len(data), sha256.Sum256(data))
	}

	// iperf3 for two seconds. (iperf3 3.12 exits 0 even when it cannot
	// connect, and may hang when it connects too early: wait until the
	// server listens, bound the client's run, read the JSON's error.)
	start(t, "ip", "netns", "exec", nsB, "iperf3", "-s", "-1", "-B", "10.77.0.2", "-p", "5201")
	waitFor(t, func() bool {
		out, _ := exec.Command("ip", "netns", "exec", nsB, "ss", "-Htln", "sport = :5201").Output()
		return len(bytes.TrimSpace(out)) > 0
	}, "iperf3 server listening")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ipOut, err := exec.CommandContext(ctx, "ip", "netns", "exec", nsA, "iperf3", "-c", "10.77.0.2", "-p", "5201", "-t", "2", "-J").Output()
	var res struct {
		End struct {
			SumReceived struct {
				Bytes         int64   `json:"bytes"`
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
		Error string `json:"error"`
	}
	if jerr := json.Unmarshal(ipOut, &res); err != nil || jerr != nil || res.Error != "" || res.End.SumReceived.Bytes == 0 {
		t.Fatalf("iperf3: %v %v %s: %s", err, jerr, res.Error, ipOut)
	}
	t.Logf("iperf3 across the cryptcab: %.0f Mbit/s (%d bytes)", res.End.SumReceived.BitsPerSecond/1e6, res.End.SumReceived.Bytes)
}
