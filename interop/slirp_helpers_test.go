package interop

import (
	"encoding/binary"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Servers on the host's loopback and the namespace of the slirp tests.

// slirpDNS runs a DNS server on 127.0.0.1 answering every A query with
// addr, and returns its port.
func slirpDNS(t *testing.T, addr [4]byte) int {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		b := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(b)
			if err != nil {
				return
			}
			q := b[:n]
			if n < 12 {
				continue
			}
			// Question: name labels, then QTYPE and QCLASS.
			i := 12
			for i < n && q[i] != 0 {
				i += int(q[i]) + 1
			}
			if i+5 > n {
				continue
			}
			qtype := binary.BigEndian.Uint16(q[i+1:])
			r := append([]byte(nil), q[:i+5]...)
			r[2] = 0x81 // response, recursion desired
			r[3] = 0x80 // recursion available
			binary.BigEndian.PutUint16(r[6:], 0)
			binary.BigEndian.PutUint16(r[8:], 0)
			binary.BigEndian.PutUint16(r[10:], 0)
			if qtype == 1 {
				binary.BigEndian.PutUint16(r[6:], 1)
				r = append(r, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, addr[0], addr[1], addr[2], addr[3])
			}
			pc.WriteTo(r, from)
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// slirpFreePort returns a TCP port free on 127.0.0.1 now.
func slirpFreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// slirpNetns runs argv inside ns and returns its combined output.
func slirpNetns(t *testing.T, ns, stdin string, argv ...string) string {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, argv...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v: %s", argv, err, out)
	}
	return string(out)
}

// slirpEcho runs a TCP echo server on addr ("127.0.0.1:0", "[::1]:0")
// and returns its port.
func slirpEcho(t *testing.T, network, addr string) int {
	t.Helper()
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// slirpUDPEcho runs a UDP server on addr ("127.0.0.1:0", "[::1]:0")
// answering each datagram with prefix and the datagram, and returns its
// port.
func slirpUDPEcho(t *testing.T, network, addr, prefix string) int {
	t.Helper()
	pc, err := net.ListenPacket(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		b := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(b)
			if err != nil {
				return
			}
			pc.WriteTo(append([]byte(prefix), b[:n]...), from)
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// slirpNamespace makes the network namespace ns (deleted when the test
// ends) with the sysctls settings, its loopback up and a tap, up,
// attached by our vde_plug tap:// to the switch in dir.
func slirpNamespace(t *testing.T, ns, tap, dir string, settings ...string) {
	t.Helper()
	cabSh(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	cabSh(t, append([]string{"ip", "netns", "exec", ns, "sysctl", "-qw"}, settings...)...)
	cabSh(t, "ip", "-n", ns, "link", "set", "lo", "up")
	start(t, "ip", "netns", "exec", ns, bin("vde_plug"), "tap://"+tap, dir)
	waitFor(t, func() bool { return exec.Command("ip", "-n", ns, "link", "show", tap).Run() == nil }, "tap "+tap)
	cabSh(t, "ip", "-n", ns, "link", "set", tap, "up")
}

// slirpWaitForward waits until a TCP connection to addr (a forward to a
// server in the namespace) reads want.
func slirpWaitForward(t *testing.T, network, addr, want, what string) {
	t.Helper()
	waitFor(t, func() bool {
		c, err := net.DialTimeout(network, addr, time.Second)
		if err != nil {
			return false
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		b, _ := io.ReadAll(c)
		return string(b) == want
	}, what)
}
