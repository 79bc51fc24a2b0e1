package interop

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// An IPv6-only namespace whose tap is on our switch, with our slirpvde -r
// on the same switch: the kernel autoconfigures an fd00::/64 address and
// the default route via fe80::2 from our router advertisements; it
// reaches a TCP and a UDP server on the host's ::1 through the gateway
// fd00::2, a TCP server on the host's 127.0.0.1 through NAT64's
// 64:ff9b::127.0.0.1 and 64:ff9b::10.0.2.2, resolves a name through a DNS
// server on loopback via fd00::3, pings the gateway (answered by the
// router) and 64:ff9b::127.0.0.1 (a real ping of the host's loopback);
// and a TCP and a UDP forward added at run time through the management
// console (our vdeterm) on the host's ::1 reach servers in the namespace.
func TestSlirpIPv6NamespaceSLAAC(t *testing.T) {
	cabNeedRoot(t, "ip", "busybox", "socat")
	id := os.Getpid() % 100000
	ns, tap := fmt.Sprintf("gvslirp6%d", id), fmt.Sprintf("gvs6%d", id)
	dir, _ := switchProc(t, bin("vde_switch"))

	tport6 := slirpEcho(t, "tcp6", "[::1]:0")
	tport4 := slirpEcho(t, "tcp4", "127.0.0.1:0")
	uport6 := slirpUDPEcho(t, "udp6", "[::1]:0", "udp6:")
	dnsPort := slirpDNS(t, [4]byte{10, 9, 8, 6})
	mgmt := filepath.Join(t.TempDir(), "slirp.mgmt")
	sl := start(t, bin("vde"), "slirp", "-r", "-q", "--dnsupstream", "127.0.0.1:"+strconv.Itoa(dnsPort), "-M", mgmt, "-s", dir)
	waitFor(t, func() bool { _, err := os.Stat(mgmt); return err == nil }, "slirpvde's management socket")

	// No DAD and no solicitation delay: the test need not wait for them.
	slirpNamespace(t, ns, tap, dir, "net.ipv6.conf.default.accept_dad=0", "net.ipv6.conf.all.accept_dad=0",
		"net.ipv6.conf.default.router_solicitation_delay=0", "net.ipv6.conf.default.router_solicitation_interval=1")

	// SLAAC from our router advertisements.
	addrRE := regexp.MustCompile(`inet6 (fd00::[0-9a-f:]+)/64 scope global`)
	var guest string
	waitForLong(t, 15*time.Second, func() bool {
		out, _ := exec.Command("ip", "-n", ns, "-6", "addr", "show", "dev", tap).CombinedOutput()
		if m := addrRE.FindStringSubmatch(string(out)); m != nil {
			guest = m[1]
		}
		r, _ := exec.Command("ip", "-n", ns, "-6", "route", "show", "default").CombinedOutput()
		return guest != "" && strings.Contains(string(r), "via fe80::2 dev "+tap)
	}, "an fd00::/64 address and a default route via fe80::2")
	if a := cabSh(t, "ip", "-n", ns, "-4", "addr", "show", "dev", tap); strings.Contains(a, "inet ") {
		t.Fatalf("the guest has IPv4: %s", a)
	}

	// TCP and UDP to the gateway's IPv6 address reach the host's ::1.
	if out := slirpNetns(t, ns, "hello tcp6\n", "socat", "-t", "2", "-", "TCP6:[fd00::2]:"+strconv.Itoa(tport6)+",connect-timeout=5"); out != "hello tcp6\n" {
		t.Fatalf("tcp6 echo: %q", out)
	}
	if out := slirpNetns(t, ns, "hello udp6\n", "socat", "-t", "2", "-", "UDP6:[fd00::2]:"+strconv.Itoa(uport6)); out != "udp6:hello udp6\n" {
		t.Fatalf("udp6 echo: %q", out)
	}
	// IPv4 hosts through the embedded-IPv4 prefix: 127.0.0.1 itself, and the
	// gateway's 10.0.2.2 meaning the host's 127.0.0.1.
	for _, dst := range []string{"64:ff9b::127.0.0.1", "64:ff9b::10.0.2.2"} {
		if out := slirpNetns(t, ns, "to "+dst+"\n", "socat", "-t", "2", "-", "TCP6:["+dst+"]:"+strconv.Itoa(tport4)+",connect-timeout=5"); out != "to "+dst+"\n" {
			t.Fatalf("tcp via %s: %q", dst, out)
		}
	}
	// DNS through the IPv6 proxy address.
	if out := slirpNetns(t, ns, "", "busybox", "nslookup", "-type=a", "govde6.test", "fd00::3"); !strings.Contains(out, "10.9.8.6") {
		t.Fatalf("nslookup: %s", out)
	}
	// Echo: the gateway answers itself; 64:ff9b::127.0.0.1 is a real ping
	// of the host's loopback (the replies count in the console).
	slirpNetns(t, ns, "", "busybox", "ping", "-6", "-c", "1", "-W", "3", "fd00::2")
	slirpNetns(t, ns, "", "busybox", "ping", "-6", "-c", "2", "-W", "3", "64:ff9b::127.0.0.1")
	term := func(cmd string) string {
		out, err := exec.Command(bin("vde"), "term", "-c", cmd, mgmt).CombinedOutput()
		if err != nil {
			t.Fatalf("vde term -c %q: %v: %s", cmd, err, out)
		}
		return string(out)
	}
	if out := term("flows/limits"); !regexp.MustCompile(`echo requests [2-9]\d* replies [2-9]`).MatchString(out) {
		t.Fatalf("flows/limits after the pings: %s", out)
	}

	// Forwards added at run time through the console reach the guest.
	start(t, "ip", "netns", "exec", ns, "socat", "TCP6-LISTEN:7777,reuseaddr,fork", "SYSTEM:echo from-guest6")
	start(t, "ip", "netns", "exec", ns, "socat", "UDP6-RECVFROM:7778,reuseaddr,fork", "SYSTEM:echo udp-from-guest6")
	fwdPort := slirpFreePort(t)
	out := term(fmt.Sprintf("fwd/add tcp [::1]:%d:[%s]:7777", fwdPort, guest))
	if !strings.Contains(out, fmt.Sprintf("tcp [::1]:%d -> [%s]:7777", fwdPort, guest)) {
		t.Fatalf("fwd/add: %s", out)
	}
	out = term(fmt.Sprintf("fwd/add udp [::1]:0:[%s]:7778", guest))
	m := regexp.MustCompile(`udp \[::1\]:(\d+) -> `).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("fwd/add udp: %s", out)
	}
	if out := term("fwd/print"); !strings.Contains(out, "tcp [::1]:"+strconv.Itoa(fwdPort)) || !strings.Contains(out, "udp [::1]:"+m[1]) {
		t.Fatalf("fwd/print: %s", out)
	}
	slirpWaitForward(t, "tcp6", "[::1]:"+strconv.Itoa(fwdPort), "from-guest6\n", "the TCP forward to the guest")
	uc, err := net.Dial("udp6", "[::1]:"+m[1])
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	waitFor(t, func() bool {
		uc.Write([]byte("x"))
		uc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		b := make([]byte, 100)
		n, err := uc.Read(b)
		return err == nil && string(b[:n]) == "udp-from-guest6\n"
	}, "the UDP forward to the guest")
	term(fmt.Sprintf("fwd/del tcp [::1]:%d", fwdPort))
	if c, err := net.DialTimeout("tcp6", "[::1]:"+strconv.Itoa(fwdPort), time.Second); err == nil {
		c.Close()
		t.Fatal("the removed forward still listens")
	}
	if s := sl.stderr.String(); s != "" {
		t.Logf("slirpvde stderr: %s", s)
	}
}
