package vxvde

import (
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/govde/govde/transports/internal/vxnet"
)

func TestParseVNL(t *testing.T) {
	c, err := ParseVNL("")
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != netip.MustParseAddr("239.0.0.1") || c.Port != 14789 || c.VNI != 1 || c.TTL != 1 || c.HashSize != 1024 || c.Expire != 128 {
		t.Fatalf("defaults %+v", c)
	}
	// grp sets the last three bytes of the group and the default VNI.
	c, err = ParseVNL("239.9.9.9/grp=66051")
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != netip.MustParseAddr("239.1.2.3") || c.VNI != 66051 {
		t.Fatalf("grp: %+v", c)
	}
	c, err = ParseVNL("/v6/grp=66051")
	if err != nil || c.Addr != netip.MustParseAddr("ff05:56de::1:203") || c.VNI != 66051 {
		t.Fatalf("v6 grp: %+v %v", c, err)
	}
	// vni wins over grp; it takes a group name too.
	if c, err = ParseVNL("/grp=5/vni=7"); err != nil || c.VNI != 7 || c.Addr != netip.MustParseAddr("239.0.0.5") {
		t.Fatalf("grp+vni: %+v %v", c, err)
	}
	if c, err = ParseVNL("/vni=root"); err != nil || c.VNI != 0 {
		t.Fatalf("vni=root: %+v %v", c, err)
	}
	if c, err = ParseVNL("/vni="); err != nil || c.VNI != uint32(os.Getegid())&vxnet.MaxVNI {
		t.Fatalf("vni= (egid): %+v %v", c, err)
	}
	if c, err = ParseVNL("239.0.0.7/bind=127.0.0.1/ttl=3"); err != nil || c.Bind != netip.MustParseAddr("127.0.0.1") || c.TTL != 3 {
		t.Fatalf("bind: %+v %v", c, err)
	}
	for arg, msg := range map[string]string{
		"/ttl=0":            `vxvde: option ttl="0": want a number from 1 to 255`,
		"/vni=no-such-grp9": `vxvde: option vni="no-such-grp9": no such group`,
		"/vni=16777216":     `option vni="16777216": a VNI has 24 bits`,
		"10.1.2.3":          "vxvde: 10.1.2.3 is not a multicast group address",
		"/foo":              `vxvde: unknown option "foo"`,
		"/port=abc":         `option port="abc"`,
	} {
		_, err := ParseVNL(arg)
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseVNL(%q) error %v, want %q", arg, err, msg)
		}
	}
}
