package vxlan

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/govde/govde/transports/internal/vxnet"
)

func TestParseVNL(t *testing.T) {
	c, err := ParseVNL("")
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != netip.MustParseAddr("239.0.0.1") || c.Port != 4789 || c.VNI != 1 || c.TTL != 1 || c.HashSize != 1024 || c.Expire != 128 {
		t.Fatalf("defaults %+v", c)
	}
	if g := c.Group(); g.String() != "239.0.0.1:4789" {
		t.Fatalf("group %v", g)
	}
	c, err = ParseVNL("239.5.5.5/vni=4096/po=5000/ttl=0/hash=0")
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != netip.MustParseAddr("239.5.5.5") || c.VNI != 4096 || c.Port != 5000 || c.TTL != 0 || c.HashSize != 0 {
		t.Fatalf("options %+v", c)
	}
	if c, err = ParseVNL("/v6"); err != nil || c.Addr != netip.MustParseAddr("ff05:56de::1") {
		t.Fatalf("v6: %+v %v", c, err)
	}
	// A unicast address is a point-to-point peer; bind pairs with it.
	if c, err = ParseVNL("127.0.0.2/bind=127.0.0.1"); err != nil || c.Bind != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("bind: %+v %v", c, err)
	}
	for arg, msg := range map[string]string{
		"/vni=abc":        `vxlan: option vni="abc": want a number from 0 to 16777215`,
		"/vni=16777216":   `option vni="16777216"`,
		"/vni=":           `option vni=""`,
		"/grp=5":          `vxlan: unknown option "grp"`,
		"/bind=127.0.0.1": "vxlan: option bind=\"127.0.0.1\": a socket bound to a unicast address cannot receive the group",
		"0.0.0.0":         "must be a multicast group or a peer, not 0.0.0.0",
		"/port=99999":     `option port="99999"`,
		"/if=nosuchif0":   `no such network interface`,
		"ff02::1/v4":      "address ff02::1 is not IPv4",
	} {
		_, err := ParseVNL(arg)
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseVNL(%q) error %v, want %q", arg, err, msg)
		}
		if _, ok := err.(*vxnet.OptionError); !ok {
			t.Errorf("ParseVNL(%q) error type %T", arg, err)
		}
	}
}
