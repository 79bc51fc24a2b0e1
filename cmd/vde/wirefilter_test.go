package main

import (
	"os"
	"reflect"
	"testing"

	"github.com/govde/govde/actors/filter"
)

func TestWirefilterFlags(t *testing.T) {
	usage := func() int { return 1 }
	devnull, _ := os.Open(os.DevNull)
	defer devnull.Close()
	stderr := os.Stderr
	os.Stderr = devnull // usage and warnings
	defer func() { os.Stderr = stderr }()

	f, _ := parseWirefilterFlags("wirefilter", []string{"-d", "LR10+5N", "-loss", "30", "--mgmt", "/x/m", "-mgmtmode", "0660",
		"-v", "/a:/b:c", "-N", "--blink", "/x/b", "--blinkid", "WF1", "--seed", "42", "-c", "RL 3K", "--capacity", "7"}, usage)
	if f == nil {
		t.Fatal("rejected")
	}
	if f.mgmt != "/x/m" || f.mgmtMode != 0660 || !f.noFifo || f.blink != "/x/b" || f.blinkID != "WF1" || f.seed != 42 || !f.seedSet {
		t.Fatalf("%+v", f)
	}
	if !reflect.DeepEqual(f.plugs, []string{"/a", "/b:c"}) {
		t.Fatalf("-v split at the first colon: %q", f.plugs)
	}
	want := []wfValue{
		{filter.Delay, "delay", filter.Setting{LR: true, Value: filter.Value{V: 10, Plus: 5, Normal: true}}},
		{filter.Loss, "loss", filter.Setting{LR: true, RL: true, Value: filter.Value{V: 30}}},
		{filter.ChanBufSize, "chanbufsize", filter.Setting{RL: true, Value: filter.Value{V: 3072}}},
		{filter.ChanBufSize, "chanbufsize", filter.Setting{LR: true, RL: true, Value: filter.Value{V: 7}}},
	}
	if !reflect.DeepEqual(f.values, want) {
		t.Fatalf("values %+v", f.values)
	}

	// the positional form (HEAD's) takes VNLs with colons
	if f, _ := parseWirefilterFlags("wirefilter", []string{"vde:///a", "vde:///b"}, usage); f == nil || !reflect.DeepEqual(f.plugs, []string{"vde:///a", "vde:///b"}) {
		t.Fatalf("positional VNLs: %+v", f)
	}
	for _, bad := range [][]string{{"-v", "nocolon"}, {"-h"}, {"--nosuch"}, {"one"}, {"a", "b", "c"}, {"-d", "abc"}, {"--mgmtmode", "9"}, {"--seed", "x"}} {
		if f, code := parseWirefilterFlags("wirefilter", bad, usage); f != nil || code != 1 {
			t.Errorf("%q accepted (%d)", bad, code)
		}
	}
	// -v -:- is a plain stream filter
	if f, _ := parseWirefilterFlags("wirefilter", []string{"-v", "-:-"}, usage); f == nil || f.plugs != nil {
		t.Fatalf("-v -:-: %+v", f)
	}
}
