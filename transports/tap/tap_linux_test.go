package tap

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/vnl"
)

// needRoot skips (or fails under CI=true) when the test cannot make taps.
func needRoot(t *testing.T) {
	t.Helper()
	_, ipErr := exec.LookPath("ip")
	if hasNetAdmin() && ipErr == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("tap tests need root (CAP_NET_ADMIN) and iproute2")
	}
	t.Skip("tap tests need root (CAP_NET_ADMIN) and iproute2")
}

var seq atomic.Int32

// tapName returns a name no other test (or test run) uses.
func tapName() string { return fmt.Sprintf("gvt%d_%d", os.Getpid()%100000, seq.Add(1)) }

func ip(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %v: %v: %s", args, err, out)
	}
}

func linkExists(name string) bool {
	_, err := os.Stat(sysNet + "/" + name)
	return err == nil
}

// open creates a tap for the test, brought up with the given MTU; it is
// closed (and so removed) at cleanup.
func open(t *testing.T, mtu int, cfg Config) *Device {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = tapName()
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	// No IPv6 chatter on the test's interface.
	os.WriteFile("/proc/sys/net/ipv6/conf/"+d.Name()+"/disable_ipv6", []byte("1"), 0)
	ip(t, "link", "set", d.Name(), "mtu", fmt.Sprint(mtu), "up")
	return d
}

const testType = 0x88b5 // IEEE local experimental ethertype

func frame(n int, seed byte) []byte {
	f := make([]byte, n)
	copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, seed, testType >> 8, testType & 0xff})
	for i := 14; i < n; i++ {
		f[i] = seed + byte(i)
	}
	return f
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// packetSocket is an AF_PACKET socket on the tap: what it sends leaves
// through the tap (and reaches our fd), what our fd writes it receives.
func packetSocket(t *testing.T, name string) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	ifi, err := netInterfaceIndex(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi}); err != nil {
		t.Fatal(err)
	}
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 2})
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
	return fd
}

func netInterfaceIndex(name string) (int, error) {
	s, err := os.ReadFile(sysNet + "/" + name + "/ifindex")
	if err != nil {
		return 0, err
	}
	var i int
	_, err = fmt.Sscan(string(s), &i)
	return i, err
}

// recvTest returns the next test frame the packet socket sees.
func recvTest(t *testing.T, fd int) []byte {
	t.Helper()
	buf := make([]byte, 70000)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			t.Fatalf("packet socket: %v", err)
		}
		if n >= 14 && buf[12] == testType>>8 && buf[13] == testType&0xff {
			return append([]byte(nil), buf[:n]...)
		}
	}
}

func readTest(t *testing.T, d *Device) []byte {
	t.Helper()
	for {
		b := frames.GetBatch()
		if err := d.ReadBatch(b); err != nil {
			t.Fatal(err)
		}
		for _, f := range b.Slice() {
			p := f.Bytes()
			if p[12] == testType>>8 && p[13] == testType&0xff {
				out := append([]byte(nil), p...)
				b.Release()
				return out
			}
		}
		b.Release()
	}
}

// Frames of every size up to the largest a tap carries (MTU 65520) cross
// both ways: written to our fd they reach the kernel, sent by the kernel
// they come out of our fd.
func TestFramesBothWaysUpToJumbo(t *testing.T) {
	needRoot(t)
	d := open(t, 65520, Config{})
	if d.MaxFrame() != frames.MaxJumbo || !d.WriteNeverBlocks() {
		t.Fatalf("MaxFrame %d, WriteNeverBlocks %v", d.MaxFrame(), d.WriteNeverBlocks())
	}
	ps := packetSocket(t, d.Name())
	for i, n := range []int{60, 1514, 1522, 9014, 65534} {
		f := frame(n, byte(i))
		b := frames.GetBatch()
		b.Add(frames.GetCopy(f))
		if err := d.WriteBatch(b); err != nil {
			t.Fatal(err)
		}
		b.Release()
		if got := recvTest(t, ps); !bytes.Equal(got, f) {
			t.Fatalf("%d bytes into the tap: the kernel got %d bytes", n, len(got))
		}
		if _, err := unix.Write(ps, f); err != nil {
			t.Fatalf("packet socket send %d: %v", n, err)
		}
		if got := readTest(t, d); !bytes.Equal(got, f) {
			t.Fatalf("%d bytes out of the tap: we read %d bytes", n, len(got))
		}
	}
}

func TestMaxFrameTruncates(t *testing.T) {
	needRoot(t)
	d := open(t, 9000, Config{MaxFrame: 1518})
	ps := packetSocket(t, d.Name())
	f := frame(9014, 7)
	if _, err := unix.Write(ps, f); err != nil {
		t.Fatal(err)
	}
	if got := readTest(t, d); !bytes.Equal(got, f[:1518]) {
		t.Fatalf("read %d bytes, want the first 1518", len(got))
	}
}

// Opening through the registry's Opener, and the kernel's choice of name.
func TestOpenThroughVNL(t *testing.T) {
	needRoot(t)
	name := tapName()
	ep, err := Open(name, vnl.Args{MaxFrame: 2000})
	if err != nil {
		t.Fatal(err)
	}
	d := ep.(*Device)
	if d.Name() != name || d.Describe() != name || d.MaxFrame() != 2000 || !linkExists(name) {
		t.Fatalf("name %q describe %q max %d", d.Name(), d.Describe(), d.MaxFrame())
	}
	d.Close()
	if linkExists(name) {
		t.Fatal("a tap we created survived Close")
	}
	any, err := New(Config{Name: "gvt%d"})
	if err != nil {
		t.Fatal(err)
	}
	defer any.Close()
	if any.Name() == "gvt%d" || !linkExists(any.Name()) {
		t.Fatalf("template name gave %q", any.Name())
	}
}

// A tap that was persistent before we opened it stays after we close it.
func TestPersistentTapSurvives(t *testing.T) {
	needRoot(t)
	name := tapName()
	ip(t, "tuntap", "add", "mode", "tap", "name", name)
	t.Cleanup(func() { exec.Command("ip", "link", "del", name).Run() })
	d, err := New(Config{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if !linkExists(name) {
		t.Fatal("closing our endpoint deleted a persistent tap")
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	needRoot(t)
	d := open(t, 1500, Config{})
	done := make(chan error, 1)
	go func() {
		b := frames.GetBatch()
		defer b.Release()
		for {
			if err := d.ReadBatch(b); err != nil {
				done <- err
				return
			}
			b.ReleaseFrames()
		}
	}()
	time.Sleep(20 * time.Millisecond)
	d.Close()
	select {
	case err := <-done:
		if err != transports.ErrClosed {
			t.Fatalf("ReadBatch after Close: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not unblock ReadBatch")
	}
}

// Every refusal is one line that names the interface and the problem.
func TestErrors(t *testing.T) {
	needRoot(t)
	busy := open(t, 1500, Config{})
	tun := tapName()
	ip(t, "tuntap", "add", "mode", "tun", "name", tun)
	t.Cleanup(func() { exec.Command("ip", "link", "del", tun).Run() })
	for _, c := range []struct {
		name  string
		errno syscall.Errno
		op    string
		text  string
	}{
		{"lo", syscall.EINVAL, OpSetIff, "Invalid argument: lo exists and is not a tap interface"},
		{tun, syscall.EINVAL, OpSetIff, "Invalid argument: " + tun + " is a tun (layer 3) interface, not a tap"},
		{"a_very_long_name0", syscall.EINVAL, OpSetIff, `Invalid argument: interface name "a_very_long_name0" is longer than 15 bytes`},
		{"bad:name", syscall.EINVAL, OpSetIff, `Invalid argument: "bad:name" is not a valid interface name`},
		{busy.Name(), syscall.EBUSY, OpSetIff, "Device or resource busy: tap " + busy.Name() + " is already in use by another process"},
	} {
		_, err := New(Config{Name: c.name})
		var te *Error
		if !errors.As(err, &te) || !errors.Is(err, c.errno) || te.Op != c.op || err.Error() != c.text {
			t.Errorf("%s: got %v (%#v), want %q", c.name, err, err, c.text)
		}
	}
}

// The checks made before opening, with a fake sysfs and device: what a
// process without CAP_NET_ADMIN is told.
func TestInspectWithoutNetAdmin(t *testing.T) {
	dir := t.TempDir()
	oldSys, oldDev := sysNet, tunDevice
	t.Cleanup(func() { sysNet, tunDevice = oldSys, oldDev })
	sysNet = dir
	tunDevice = dir + "/tun-missing"
	if _, err := inspect("x0"); !errors.Is(err, syscall.ENOENT) ||
		err.Error() != "No such file or directory: "+tunDevice+" is missing: load the tun module (modprobe tun) or create the device (mknod "+tunDevice+" c 10 200)" {
		t.Fatalf("missing device: %v", err)
	}
	tunDevice = "/dev/null" // a character device everyone may open
	mk := func(name, flags, owner, group string) {
		os.MkdirAll(dir+"/"+name, 0755)
		for f, v := range map[string]string{"tun_flags": flags, "owner": owner, "group": group} {
			if v != "" {
				os.WriteFile(dir+"/"+name+"/"+f, []byte(v+"\n"), 0644)
			}
		}
	}
	mk("mine", "0x1002", fmt.Sprint(os.Geteuid()), "-1")
	mk("theirs", "0x1802", "4242", "-1")
	mk("anyone", "0x1802", "-1", "-1")
	netAdmin = func() bool { return false }
	t.Cleanup(func() { netAdmin = hasNetAdmin })
	me := os.Geteuid()
	for _, c := range []struct {
		name    string
		errno   syscall.Errno
		text    string
		persist bool
	}{
		{"absent0", syscall.EPERM, fmt.Sprintf("Operation not permitted: tap absent0 does not exist and creating it needs CAP_NET_ADMIN (or pre-create it: ip tuntap add mode tap user %d name absent0)", me), false},
		{"theirs", syscall.EPERM, "Operation not permitted: tap theirs belongs to user 4242: attaching it needs that, or CAP_NET_ADMIN", true},
		{"mine", 0, "", false},
		{"anyone", 0, "", true},
	} {
		in, err := inspect(c.name)
		if c.errno == 0 {
			if err != nil || in.persistent != c.persist {
				t.Errorf("%s: %v, persistent %v", c.name, err, in != nil && in.persistent)
			}
			continue
		}
		if !errors.Is(err, c.errno) || err.Error() != c.text {
			t.Errorf("%s: got %v, want %q", c.name, err, c.text)
		}
	}
}
