package interop

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Helpers of the vxlan/vxvde interop tests: namespaces wired by veths (to
// each other or to a bridge), and a packet capture of UDP datagrams on an
// interface of a namespace. Namespaces come from tapNetns (root and
// iproute2 needed: tapNeedNetns).

// vxLAN joins the namespaces through a bridge in a namespace of its own:
// namespace i gets interface "vx<i>" with address addrs[i] (CIDR; IPv6
// ones without duplicate address detection) and the multicast routes of the
// spec's recipe (224.0.0.0/4, ff05::/16). The bridge does no multicast
// snooping, so every member hears every group.
func vxLAN(t *testing.T, ns []string, addrs [][]string) {
	t.Helper()
	br := tapNetns(t)
	tapIP(t, "-n", br, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
	tapIP(t, "-n", br, "link", "set", "br0", "up")
	for i, n := range ns {
		vxNoDAD(t, n)
		dev := fmt.Sprintf("vx%d", i)
		tapIP(t, "link", "add", dev, "netns", n, "type", "veth", "peer", "name", "p"+dev, "netns", br)
		tapIP(t, "-n", br, "link", "set", "p"+dev, "master", "br0", "up")
		for _, a := range addrs[i] {
			args := []string{"-n", n, "addr", "add", a, "dev", dev}
			if netip.MustParsePrefix(a).Addr().Is6() {
				args = append(args, "nodad")
			}
			tapIP(t, args...)
		}
		tapIP(t, "-n", n, "link", "set", dev, "up")
		tapIP(t, "-n", n, "route", "add", "224.0.0.0/4", "dev", dev)
		tapIP(t, "-n", n, "-6", "route", "add", "ff05::/16", "dev", dev)
	}
}

// vxPair joins two namespaces by a veth, "vx0" in each, with addresses
// a and b (IPv4 CIDR) and the multicast route.
func vxPair(t *testing.T, na, nb, a, b string) {
	t.Helper()
	tapIP(t, "link", "add", "vx0", "netns", na, "type", "veth", "peer", "name", "vx0", "netns", nb)
	for _, x := range []struct{ ns, addr string }{{na, a}, {nb, b}} {
		tapIP(t, "-n", x.ns, "addr", "add", x.addr, "dev", "vx0")
		tapIP(t, "-n", x.ns, "link", "set", "vx0", "up")
		tapIP(t, "-n", x.ns, "route", "add", "224.0.0.0/4", "dev", "vx0")
	}
}

// vxNoDAD turns duplicate address detection off in ns, so that IPv6
// addresses (link-local ones too) are usable at once.
func vxNoDAD(t *testing.T, ns string) {
	t.Helper()
	vxInNetns(t, ns, func() error {
		for _, f := range []string{"all", "default"} {
			if err := os.WriteFile("/proc/sys/net/ipv6/conf/"+f+"/accept_dad", []byte("0"), 0); err != nil {
				return err
			}
		}
		return nil
	})
}

// vxInNetns runs fn on a thread moved into ns (discarded afterwards).
func vxInNetns(t *testing.T, ns string, fn func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		f, err := os.Open("/run/netns/" + ns)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		errc <- fn()
	}()
	if err := <-errc; err != nil {
		t.Fatalf("in namespace %s: %v", ns, err)
	}
}

// vxDatagram is one captured UDP datagram.
type vxDatagram struct {
	Src, Dst netip.AddrPort
	TTL      int // IPv4 TTL or IPv6 hop limit
	Payload  []byte
}

func (d vxDatagram) String() string {
	return fmt.Sprintf("%v > %v ttl %d len %d", d.Src, d.Dst, d.TTL, len(d.Payload))
}

// vxCapture collects the UDP datagrams crossing an interface (both ways).
type vxCapture struct {
	mu   sync.Mutex
	all  []vxDatagram
	fd   int
	done chan struct{}
}

// vxCaptureOn starts capturing on dev in ns until the test ends.
func vxCaptureOn(t *testing.T, ns, dev string) *vxCapture {
	t.Helper()
	c := &vxCapture{fd: -1, done: make(chan struct{})}
	vxInNetns(t, ns, func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		proto := int(vxHtons(unix.ETH_P_ALL))
		if c.fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, proto); err != nil {
			return err
		}
		return unix.Bind(c.fd, &unix.SockaddrLinklayer{Protocol: vxHtons(unix.ETH_P_ALL), Ifindex: ifi.Index})
	})
	unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 100000})
	go func() {
		defer close(c.done)
		buf := make([]byte, 70000)
		for {
			n, _, err := unix.Recvfrom(c.fd, buf, 0)
			if err == unix.EAGAIN || err == unix.EINTR {
				continue
			}
			if err != nil {
				return
			}
			if d, ok := vxParseUDP(buf[:n]); ok {
				c.mu.Lock()
				c.all = append(c.all, d)
				c.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		unix.Shutdown(c.fd, unix.SHUT_RDWR)
		unix.Close(c.fd)
		<-c.done
	})
	return c
}

func vxHtons(v uint16) uint16 { return v<<8 | v>>8 }

// vxParseUDP decodes an IPv4 or IPv6 packet carrying a whole UDP datagram
// (fragments are ignored).
func vxParseUDP(p []byte) (vxDatagram, bool) {
	var d vxDatagram
	if len(p) < 1 {
		return d, false
	}
	var udp []byte
	switch p[0] >> 4 {
	case 4:
		ihl := int(p[0]&15) * 4
		if len(p) < ihl+8 || p[9] != unix.IPPROTO_UDP || binary.BigEndian.Uint16(p[6:])&0x3fff != 0 {
			return d, false
		}
		d.TTL = int(p[8])
		src, _ := netip.AddrFromSlice(p[12:16])
		dst, _ := netip.AddrFromSlice(p[16:20])
		udp = p[ihl:]
		d.Src = netip.AddrPortFrom(src, binary.BigEndian.Uint16(udp[0:]))
		d.Dst = netip.AddrPortFrom(dst, binary.BigEndian.Uint16(udp[2:]))
	case 6:
		if len(p) < 48 || p[6] != unix.IPPROTO_UDP {
			return d, false
		}
		d.TTL = int(p[7])
		src, _ := netip.AddrFromSlice(p[8:24])
		dst, _ := netip.AddrFromSlice(p[24:40])
		udp = p[40:]
		d.Src = netip.AddrPortFrom(src, binary.BigEndian.Uint16(udp[0:]))
		d.Dst = netip.AddrPortFrom(dst, binary.BigEndian.Uint16(udp[2:]))
	default:
		return d, false
	}
	n := int(binary.BigEndian.Uint16(udp[4:]))
	if n < 8 || n > len(udp) {
		return d, false
	}
	d.Payload = append([]byte(nil), udp[8:n]...)
	return d, true
}

// find waits up to d for a datagram matching ok and returns it.
func (c *vxCapture) find(d time.Duration, ok func(vxDatagram) bool) (vxDatagram, bool) {
	deadline := time.Now().Add(d)
	for {
		c.mu.Lock()
		for _, x := range c.all {
			if ok(x) {
				c.mu.Unlock()
				return x, true
			}
		}
		c.mu.Unlock()
		if time.Now().After(deadline) {
			return vxDatagram{}, false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// dump lists what was captured, for failure messages.
func (c *vxCapture) dump() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := ""
	for _, x := range c.all {
		s += x.String() + "\n"
	}
	return s
}

// vxFrame is the datagram payload for frame f under the header of vni.
func vxFrame(vni int, f []byte) []byte {
	return append([]byte{8, 0, 0, 0, byte(vni >> 16), byte(vni >> 8), byte(vni), 0}, f...)
}

// vxWithFrame matches datagrams carrying frame f (after the 8-byte header).
func vxWithFrame(f []byte) func(vxDatagram) bool {
	return func(d vxDatagram) bool { return len(d.Payload) == 8+len(f) && string(d.Payload[8:]) == string(f) }
}
