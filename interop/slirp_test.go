package interop

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A namespace whose tap is on our switch, with our slirpvde on the same
// switch: it gets 10.0.2.15 by DHCP (busybox udhcpc), reaches a TCP and a
// UDP echo server on the host's 127.0.0.1 through the gateway 10.0.2.2,
// resolves a name through a DNS server on loopback via 10.0.2.3, and a
// host TCP connection reaches a server in the namespace via -L.
func TestSlirpNamespaceThroughOurSwitch(t *testing.T) {
	slirpScenario(t, func(dir string, dnsPort, fwdPort int) *proc {
		return start(t, bin("vde"), "slirp", "-D", "-q", "--dnsupstream", "127.0.0.1:"+strconv.Itoa(dnsPort),
			"-L", "127.0.0.1:"+strconv.Itoa(fwdPort)+":10.0.2.15:7777", "-s", dir)
	})
}

// The same through the slirp:// VNL: `vde_plug slirp:///dhcp/… SWITCH`.
func TestSlirpVNLThroughOurPlug(t *testing.T) {
	slirpScenario(t, func(dir string, dnsPort, fwdPort int) *proc {
		return start(t, bin("vde_plug"), "slirp:///dhcp/dnsupstream=127.0.0.1:"+strconv.Itoa(dnsPort)+
			"/tcpfwd=127.0.0.1:"+strconv.Itoa(fwdPort)+":10.0.2.15:7777", dir)
	})
}

// slirpScenario runs the namespace checks against the slirp router that
// startSlirp attaches to the switch in dir.
func slirpScenario(t *testing.T, startSlirp func(dir string, dnsPort, fwdPort int) *proc) {
	cabNeedRoot(t, "ip", "busybox", "socat")
	id := os.Getpid() % 100000
	ns, tap := fmt.Sprintf("gvslirp%d", id), fmt.Sprintf("gvsl%d", id)
	dir, _ := switchProc(t, bin("vde_switch"))

	// Host side servers, all on loopback.
	tport := strconv.Itoa(slirpEcho(t, "tcp4", "127.0.0.1:0"))
	uport := strconv.Itoa(slirpUDPEcho(t, "udp4", "127.0.0.1:0", "udp:"))
	dnsPort := slirpDNS(t, [4]byte{10, 9, 8, 7})
	fwdPort := slirpFreePort(t)

	sl := startSlirp(dir, dnsPort, fwdPort)
	waitFor(t, func() bool {
		c, err := net.Dial("tcp4", "127.0.0.1:"+strconv.Itoa(fwdPort))
		if err == nil {
			c.Close()
		}
		return err == nil
	}, "slirpvde's forward listener")

	slirpNamespace(t, ns, tap, dir, "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")

	// DHCP with busybox's client; its script configures the lease.
	script := filepath.Join(t.TempDir(), "udhcpc.sh")
	os.WriteFile(script, []byte(`#!/bin/sh
case "$1" in
bound|renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/$mask" dev "$interface"
	ip route replace default via "$router" dev "$interface"
	echo "lease $ip/$mask router $router dns $dns"
	;;
esac
`), 0o755)
	out := slirpNetns(t, ns, "", "busybox", "udhcpc", "-f", "-q", "-n", "-t", "5", "-T", "1", "-i", tap, "-s", script)
	if !strings.Contains(out, "lease 10.0.2.15/24 router 10.0.2.2 dns 10.0.2.3") {
		t.Fatalf("udhcpc: %s", out)
	}
	if a := cabSh(t, "ip", "-n", ns, "-4", "addr", "show", tap); !strings.Contains(a, "10.0.2.15/24") {
		t.Fatalf("address not configured: %s", a)
	}

	// TCP and UDP to the gateway reach the host's loopback.
	if out := slirpNetns(t, ns, "hello tcp\n", "socat", "-t", "2", "-", "TCP:10.0.2.2:"+tport+",connect-timeout=5"); out != "hello tcp\n" {
		t.Fatalf("tcp echo: %q", out)
	}
	if out := slirpNetns(t, ns, "hello udp\n", "socat", "-t", "2", "-", "UDP:10.0.2.2:"+uport); out != "udp:hello udp\n" {
		t.Fatalf("udp echo: %q", out)
	}
	// ICMP echo to the gateway is answered by the router itself; echo to
	// another address of the virtual network is neither answered nor
	// relayed (outside addresses are relayed as real pings from the host:
	// see TestSlirpIPv6NamespaceSLAAC, which may ping the host's loopback).
	slirpNetns(t, ns, "", "busybox", "ping", "-c", "1", "-W", "2", "10.0.2.2")
	if out, err := exec.Command("ip", "netns", "exec", ns, "busybox", "ping", "-c", "1", "-W", "1", "10.0.2.99").CombinedOutput(); err == nil {
		t.Fatalf("echo to 10.0.2.99 answered: %s", out)
	}
	// DNS through the proxy address.
	if out := slirpNetns(t, ns, "", "busybox", "nslookup", "-type=a", "govde.test", "10.0.2.3"); !strings.Contains(out, "10.9.8.7") {
		t.Fatalf("nslookup: %s", out)
	}
	// A host connection to the forwarded port reaches the namespace.
	start(t, "ip", "netns", "exec", ns, "socat", "TCP-LISTEN:7777,reuseaddr", "SYSTEM:echo from-guest")
	slirpWaitForward(t, "tcp4", "127.0.0.1:"+strconv.Itoa(fwdPort), "from-guest\n", "forwarded connection to the guest")
	if sl.stderr.String() != "" {
		t.Logf("slirpvde stderr: %s", sl.stderr)
	}
}
