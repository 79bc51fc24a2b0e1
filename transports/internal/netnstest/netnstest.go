// Package netnstest gives tests of transports private network namespaces:
// a named namespace per test (removed at cleanup) with loopback up and able
// to carry multicast, and a way to run code that opens sockets inside it
// without moving the whole test process.
//
// Namespaces need root and the ip tool: without them New skips the test,
// or fails it when the environment variable CI is "true".
package netnstest

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// NS is a network namespace made by a test.
type NS struct {
	Name string
}

var seq atomic.Int32

// Addresses of the namespace's multicast-capable interface, vx0 (a veth
// whose peer vx1 stays down-stream and unused): multicast sent through it
// loops back to the namespace's own sockets.
const (
	Addr4 = "10.199.0.1"
	Addr6 = "fd99::1"
)

// New creates a namespace named after the process and a sequence number,
// with lo up and an interface vx0 holding Addr4/24 and Addr6/64 (duplicate
// address detection off) that carries 224.0.0.0/4 and ff00::/8, and
// deletes it when t ends (every socket left in it dies with it).
func New(t testing.TB) *NS {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, "network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		skipOrFail(t, "the ip tool (iproute2) is not installed")
	}
	n := &NS{Name: fmt.Sprintf("govdet%d-%d", os.Getpid(), seq.Add(1))}
	if out, err := exec.Command("ip", "netns", "add", n.Name).CombinedOutput(); err != nil {
		skipOrFail(t, fmt.Sprintf("ip netns add: %v %s", err, out))
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", n.Name).Run() })
	n.Do(t, func() {
		for _, f := range []string{"all", "default"} {
			os.WriteFile("/proc/sys/net/ipv6/conf/"+f+"/accept_dad", []byte("0"), 0)
		}
	})
	n.IP(t, "link", "set", "lo", "up")
	n.IP(t, "link", "add", "vx0", "type", "veth", "peer", "name", "vx1")
	n.IP(t, "link", "set", "vx1", "up")
	n.IP(t, "link", "set", "vx0", "up")
	n.IP(t, "addr", "add", Addr4+"/24", "dev", "vx0")
	n.IP(t, "addr", "add", Addr6+"/64", "dev", "vx0", "nodad")
	n.IP(t, "route", "add", "224.0.0.0/4", "dev", "vx0")
	n.IP(t, "-6", "route", "add", "ff00::/8", "dev", "vx0", "table", "local")
	return n
}

func skipOrFail(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// IP runs `ip -n NAME args...` and fails the test on error.
func (n *NS) IP(t testing.TB, args ...string) {
	t.Helper()
	argv := append([]string{"-n", n.Name}, args...)
	if out, err := exec.Command("ip", argv...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v %s", strings.Join(argv, " "), err, out)
	}
}

// Do runs fn on an OS thread that has joined the namespace, and waits for
// it. fn runs on another goroutine than the test's: it must not call
// t.Fatal (return an error instead). Sockets fn opens belong to the namespace for good and may be used
// from any goroutine afterwards; goroutines fn starts do not run in the
// namespace. The thread is discarded afterwards (never reused by Go).
func (n *NS) Do(t testing.TB, fn func()) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with us
		fd, err := unix.Open("/run/netns/"+n.Name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			errc <- err
			return
		}
		defer func() { errc <- nil }()
		fn()
	}()
	if err := <-errc; err != nil {
		t.Fatalf("entering namespace %s: %v", n.Name, err)
	}
}
