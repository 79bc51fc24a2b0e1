package vxnet

import (
	"errors"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/govde/govde/transports/vnl"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]uint64{"0": 0, "212992": 212992, "2k": 2048, "2K": 2048, "3m": 3 << 20, "1g": 1 << 30, "0x10": 16, "1kk": 1 << 20} {
		got, err := ParseSize("m", "rcvbuf", in, 1<<40)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "k", "abc", "-1", "5x", "3t"} {
		if _, err := ParseSize("m", "rcvbuf", in, 1<<31); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
}

func TestGroupID(t *testing.T) {
	if v, err := GroupID("m", "grp", ""); err != nil || v != uint32(os.Getegid()) {
		t.Errorf("empty = %d %v", v, err)
	}
	if v, err := GroupID("m", "grp", "1234"); err != nil || v != 1234 {
		t.Errorf("1234 = %d %v", v, err)
	}
	if v, err := GroupID("m", "grp", "root"); err != nil || v != 0 {
		t.Errorf("root = %d %v", v, err)
	}
	if _, err := GroupID("m", "grp", "no-such-group-xyz"); err == nil || !strings.Contains(err.Error(), "no such group") {
		t.Errorf("unknown group: %v", err)
	}
}

func TestParsePort(t *testing.T) {
	if p, err := ParsePort("m", "port", "4789"); err != nil || p != 4789 {
		t.Errorf("4789: %d %v", p, err)
	}
	for _, in := range []string{"0", "65536", "-1", "", "12ab"} {
		if _, err := ParsePort("m", "port", in); err == nil {
			t.Errorf("ParsePort(%q) accepted", in)
		}
	}
}

func TestParseCommon(t *testing.T) {
	parse := func(arg string) (Common, error) {
		addr, opts, err := ParseOptions("vx", arg, []string{"port", "vni", "ttl", "rcvbuf", "v6", "v4", "hashsize", "expiretime", "if", "bind"})
		if err != nil {
			return Common{}, err
		}
		return ParseCommon("vx", addr, opts, 4789, 1)
	}
	c, err := parse("")
	if err != nil {
		t.Fatal(err)
	}
	want := Common{Addr: DefaultGroup4, Port: 4789, TTL: 1, HashSize: 1024, Expire: 128}
	if c != want {
		t.Fatalf("defaults %+v", c)
	}
	c, err = parse("239.1.2.3/po=99/ttl=5/rcv=1k/hash=0/exp=7/if=lo/bind=127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	lo, _ := InterfaceIndex("vx", "lo")
	want = Common{Addr: netip.MustParseAddr("239.1.2.3"), Port: 99, TTL: 5, RcvBuf: 1024, HashSize: 0, Expire: 7,
		IfName: "lo", IfIndex: lo, Bind: netip.MustParseAddr("127.0.0.1")}
	if c != want {
		t.Fatalf("got %+v\nwant %+v", c, want)
	}
	if c, err = parse("/v6"); err != nil || c.Addr != DefaultGroup6 || c.MaxFrame(0) != 65519 {
		t.Fatalf("v6: %+v %v", c, err)
	}
	if c, err = parse("/expiretime=0"); err != nil || c.Expire != 128 || c.MaxFrame(0) != 65499 || c.MaxFrame(1500) != 1500 || c.MaxFrame(70000) != 65499 {
		t.Fatalf("expiretime=0 keeps the default: %+v %v", c, err)
	}
	for arg, msg := range map[string]string{
		"/foo=1":           `vx: unknown option "foo"`,
		"/port=0":          `vx: option port="0": want a UDP port`,
		"/ttl=0":           `vx: option ttl="0": want a number from 1 to 255`,
		"/ttl=x":           `option ttl="x"`,
		"/rcvbuf=lots":     `option rcvbuf="lots"`,
		"/hashsize=-1":     `option hashsize="-1"`,
		"/expiretime=soon": `option expiretime="soon"`,
		"/if=nosuchif0":    `vx: option if="nosuchif0": no such network interface`,
		"ff05::1/v4":       "vx: address ff05::1 is not IPv4",
		"239.0.0.1/v6":     "vx: address 239.0.0.1 is not IPv6",
		"/bind=::1":        `vx: option bind="::1": address ::1 is not IPv4`,
	} {
		_, err := parse(arg)
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: error %v, want %q", arg, err, msg)
		}
		if _, ok := err.(*OptionError); !ok {
			t.Errorf("%q: error type %T", arg, err)
		}
	}
	// Option errors carry no errno, so that vde_plug prints their text.
	_, err = parse("/foo=1")
	var ke *vnl.KeyError
	if err == nil || strings.Contains(err.Error(), "Invalid") || asKeyError(err, &ke) {
		t.Errorf("unknown key error %v", err)
	}
}

func asKeyError(err error, ke **vnl.KeyError) bool {
	k, ok := err.(*vnl.KeyError)
	*ke = k
	return ok
}

func TestResolveName(t *testing.T) {
	a, err := Resolve("vx", "localhost", V4)
	if err != nil || a != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("localhost/v4 = %v %v", a, err)
	}
	if a, err := Resolve("vx", "fe80::1%lo", V6); err != nil || a.Zone() != "" {
		t.Fatalf("zoned literal = %v %v", a, err)
	}
}

func TestErrorsIs(t *testing.T) {
	_, err := ParseUint("vx", "ttl", "x", 0, 1)
	if !errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOENT) {
		t.Fatalf("option error is not EINVAL: %v", err)
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		t.Fatal("an option error unwraps to an errno: vde_plug would print only its text")
	}
	se := &SocketError{Op: "bind", Addr: "0.0.0.0:4789", Err: syscall.EADDRINUSE}
	if !errors.Is(se, syscall.EADDRINUSE) || errors.As(se, &errno) || se.Error() != "bind 0.0.0.0:4789: Address already in use" {
		t.Fatalf("socket error %v", se)
	}
}
