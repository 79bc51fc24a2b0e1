package interop

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// cabNeedRoot skips (or fails with CI=true) a test that needs root and tools.
func cabNeedRoot(t *testing.T, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("this test needs root (network namespaces, taps)")
		}
		t.Skip("needs root")
	}
	for _, tool := range tools {
		real(t, tool)
	}
}

func cabSh(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v: %s", args, err, out)
	}
	return string(out)
}

// cabNetnsHost makes a network namespace holding a tap (attached by our
// vde_plug tap:// to the switch in dir) with address addr/24, IPv6 off so
// that no stray multicast crosses the cables.
func cabNetnsHost(t *testing.T, ns, tap, addr, dir string) {
	t.Helper()
	cabSh(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	cabSh(t, "ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
	cabSh(t, "ip", "-n", ns, "link", "set", "lo", "up")
	start(t, "ip", "netns", "exec", ns, bin("vde_plug"), "tap://"+tap, dir)
	waitFor(t, func() bool { return exec.Command("ip", "-n", ns, "link", "show", tap).Run() == nil }, "tap "+tap)
	cabSh(t, "ip", "-n", ns, "addr", "add", addr+"/24", "dev", tap)
	cabSh(t, "ip", "-n", ns, "link", "set", tap, "up")
}

// Mobility, the original's cable hand-off: a kernel TCP transfer between
// two namespaces runs through two of our switches joined by a cable on port
// 5 of each; a second cable is plugged into the same ports while the first
// is live, then the first is killed. The virtual topology never changes
// (same ports, same MAC table), so the connection carries on, no reset.
func TestCableHandOffKeepsTCP(t *testing.T) {
	cabNeedRoot(t, "iperf3", "ip")
	id := os.Getpid() % 100000
	nsA, nsB := fmt.Sprintf("gvmobA%d", id), fmt.Sprintf("gvmobB%d", id)
	tapA, tapB := fmt.Sprintf("gvtA%d", id), fmt.Sprintf("gvtB%d", id)
	dirA, _ := switchProc(t, bin("vde_switch"))
	dirB, _ := switchProc(t, bin("vde_switch"))
	cabNetnsHost(t, nsA, tapA, "10.231.0.1", dirA)
	cabNetnsHost(t, nsB, tapB, "10.231.0.2", dirB)

	cable1 := start(t, bin("vde_plug"), dirA+"[5]", dirB+"[5]")
	onPort := func(dir string, n int) func() bool {
		return func() bool {
			ents, _ := os.ReadDir(dir)
			c := 0
			for _, e := range ents {
				if strings.HasPrefix(e.Name(), "005.") {
					c++
				}
			}
			return c == n
		}
	}
	waitFor(t, onPort(dirA, 1), "cable 1 on port 5 of A")
	waitFor(t, onPort(dirB, 1), "cable 1 on port 5 of B")
	// (no ping here: a datagram makes the kernel resolve the address)
	waitFor(t, func() bool {
		exec.Command("ip", "netns", "exec", nsA, "bash", "-c", "echo x >/dev/udp/10.231.0.2/9").Run()
		time.Sleep(50 * time.Millisecond)
		out, _ := exec.Command("ip", "-n", nsA, "neigh", "show", "10.231.0.2").Output()
		return strings.Contains(string(out), "lladdr")
	}, "ARP through the first cable")

	port := fmt.Sprint(20000 + id%20000)
	start(t, "ip", "netns", "exec", nsB, "iperf3", "-s", "-1", "-B", "10.231.0.2", "-p", port)
	time.Sleep(300 * time.Millisecond)
	client := exec.Command("ip", "netns", "exec", nsA, "iperf3", "-c", "10.231.0.2", "-p", port, "-t", "6", "-i", "0.5", "-J", "-b", "200M")
	out := &syncBuf{}
	client.Stdout = out
	client.Stderr = out
	if err := client.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- client.Wait() }()
	t.Cleanup(func() { client.Process.Kill() })

	time.Sleep(2 * time.Second)
	start(t, bin("vde_plug"), dirA+"[5]", dirB+"[5]") // the second cable, same ports
	waitFor(t, onPort(dirA, 2), "cable 2 on port 5 of A")
	waitFor(t, onPort(dirB, 2), "cable 2 on port 5 of B")
	time.Sleep(500 * time.Millisecond)
	handoff := 2500 * time.Millisecond // into the transfer
	cable1.Stop()
	waitFor(t, onPort(dirA, 1), "cable 1 gone from A")
	waitFor(t, onPort(dirB, 1), "cable 1 gone from B")

	var err error
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("the transfer did not end: %s", out)
	}
	var res struct {
		Error     string `json:"error"`
		Intervals []struct {
			Sum struct {
				Start float64 `json:"start"`
				Bytes int64   `json:"bytes"`
			} `json:"sum"`
		} `json:"intervals"`
		End struct {
			SumReceived struct {
				Bytes int64 `json:"bytes"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if jerr := json.Unmarshal([]byte(out.String()), &res); jerr != nil {
		t.Fatalf("iperf3 output: %v: %s", jerr, out)
	}
	if err != nil || res.Error != "" {
		t.Fatalf("the TCP transfer failed across the hand-off: %v %s", err, res.Error)
	}
	after := int64(0)
	for _, iv := range res.Intervals {
		if iv.Sum.Start >= handoff.Seconds()+0.5 {
			after += iv.Sum.Bytes
		}
	}
	t.Logf("received %d bytes in all, %d after the first cable was killed", res.End.SumReceived.Bytes, after)
	if after == 0 {
		t.Fatal("nothing crossed after the hand-off")
	}
}
