package interop

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tapNeedNetns skips (or fails with CI=true) unless the test can make network
// namespaces and taps: root with iproute2.
func tapNeedNetns(t *testing.T) {
	t.Helper()
	_, err := exec.LookPath("ip")
	if os.Geteuid() == 0 && err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("this test needs root and iproute2 (network namespaces, taps)")
	}
	t.Skip("this test needs root and iproute2 (network namespaces, taps)")
}

var tapSeq atomic.Int32

// tapNetns creates a network namespace for the test, with lo up, and
// deletes it (with everything in it) at cleanup.
func tapNetns(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("gv%d_%d", os.Getpid()%100000, tapSeq.Add(1))
	tapIP(t, "netns", "add", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	tapIP(t, "-n", name, "link", "set", "lo", "up")
	return name
}

func tapIP(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// tapInNetns runs argv inside namespace ns (ip netns exec) as a process the
// test owns.
func tapInNetns(t *testing.T, ns string, argv ...string) *proc {
	t.Helper()
	return start(t, append([]string{"ip", "netns", "exec", ns}, argv...)...)
}

// tapWaitLink waits until interface dev exists in ns.
func tapWaitLink(t *testing.T, ns, dev string) {
	t.Helper()
	waitFor(t, func() bool { return exec.Command("ip", "-n", ns, "link", "show", dev).Run() == nil },
		fmt.Sprintf("interface %s in %s", dev, ns))
}

// tapAddr gives dev in ns the address and MTU and brings it up.
func tapAddr(t *testing.T, ns, dev, cidr string, mtu int) {
	t.Helper()
	tapWaitLink(t, ns, dev)
	tapIP(t, "-n", ns, "addr", "add", cidr, "dev", dev)
	tapIP(t, "-n", ns, "link", "set", dev, "mtu", fmt.Sprint(mtu), "up")
}

// tapMTU changes dev's MTU.
func tapMTU(t *testing.T, ns, dev string, mtu int) {
	t.Helper()
	tapIP(t, "-n", ns, "link", "set", dev, "mtu", fmt.Sprint(mtu))
}

// tapPing sends count ICMP echo requests of size bytes (the whole IP packet,
// with the don't-fragment bit: a packet of the interface's MTU must cross
// as one frame) from namespace ns to dst, and returns how many replies the
// kernel on the other side sent back. It opens a raw ICMP socket on a
// thread moved into ns (the thread is discarded afterwards).
func tapPing(t *testing.T, ns, dst string, size, count int) int {
	t.Helper()
	type result struct {
		got int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		got, err := tapPingHere(ns, dst, size, count)
		ch <- result{got, err}
	}()
	r := <-ch
	if r.err != nil {
		t.Fatalf("ping %s from %s: %v", dst, ns, r.err)
	}
	return r.got
}

func tapPingHere(ns, dst string, size, count int) (int, error) {
	f, err := os.Open("/run/netns/" + ns)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
		return 0, err
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DO)
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20)
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 1})
	var to unix.SockaddrInet4
	if _, err := fmt.Sscanf(dst, "%d.%d.%d.%d", &to.Addr[0], &to.Addr[1], &to.Addr[2], &to.Addr[3]); err != nil {
		return 0, err
	}
	id := uint16(os.Getpid())
	msg := make([]byte, size-20)
	buf := make([]byte, 70000)
	got := 0
	for seq := 1; seq <= count; seq++ {
		for i := range msg {
			msg[i] = byte(i)
		}
		msg[0], msg[1], msg[2], msg[3] = 8, 0, 0, 0
		binary.BigEndian.PutUint16(msg[4:], id)
		binary.BigEndian.PutUint16(msg[6:], uint16(seq))
		binary.BigEndian.PutUint16(msg[2:], tapICMPChecksum(msg))
		if err := unix.Sendto(fd, msg, 0, &to); err != nil {
			return got, fmt.Errorf("send %d bytes: %w", size, err)
		}
		deadline := time.Now().Add(2 * time.Second)
		for time.Now().Before(deadline) {
			n, _, err := unix.Recvfrom(fd, buf, 0)
			if err != nil {
				continue
			}
			ihl := int(buf[0]&0x0f) * 4
			if n < ihl+8 {
				continue
			}
			r := buf[ihl:n]
			if r[0] == 0 && binary.BigEndian.Uint16(r[4:]) == id && binary.BigEndian.Uint16(r[6:]) == uint16(seq) && n == size {
				got++
				break
			}
		}
	}
	return got, nil
}

func tapICMPChecksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// tapIperf runs a TCP iperf3 test of secs seconds from ns (client) to the
// server at dst in srvNS and returns the receiver's bits per second.
func tapIperf(t *testing.T, srvNS, ns, dst string, secs int) float64 {
	t.Helper()
	if _, err := exec.LookPath("iperf3"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("iperf3 not installed")
		}
		t.Skip("iperf3 not installed")
	}
	srv := tapInNetns(t, srvNS, "iperf3", "-s", "-1", "-B", dst)
	time.Sleep(300 * time.Millisecond)
	out, err := exec.Command("ip", "netns", "exec", ns, "iperf3", "-c", dst, "-t", fmt.Sprint(secs), "-J").Output()
	if err != nil {
		t.Fatalf("iperf3 client: %v: %s (server: %s)", err, out, srv.stderr)
	}
	var r struct {
		End struct {
			SumReceived struct {
				Bytes         float64 `json:"bytes"`
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(out, &r); err != nil || r.Error != "" {
		t.Fatalf("iperf3 output: %v %s", err, r.Error)
	}
	srv.Wait(t, 5*time.Second)
	if r.End.SumReceived.Bytes == 0 {
		t.Fatal("iperf3 moved nothing")
	}
	return r.End.SumReceived.BitsPerSecond
}

// modStartPlugCmd starts a stream-mode plug from a prepared command (extra
// files, environment), like startPlug.
func modStartPlugCmd(t *testing.T, cmd *exec.Cmd) *plug {
	t.Helper()
	return startPlugCmd(t, cmd, false, 4096)
}
