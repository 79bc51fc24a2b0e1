package main

import (
	"os"
	"testing"
)

// vde_plug2tap's command line, as the original parses it
// (getopt_long_only, "hdP:p:s:m:g:").
func TestPlug2tapFlags(t *testing.T) {
	f, code := parsePlug2tapFlags("vde_plug2tap", []string{"-sock", "/tmp/sw", "-p", "3", "-m", "0660x", "--group=users", "-P", "p.pid", "tap0", "extra"})
	if f == nil {
		t.Fatalf("parse failed: %d", code)
	}
	if f.sock != "/tmp/sw" || !f.sockSet || f.args.Port != 3 || f.args.Mode != 0660 || f.args.Group != "users" ||
		f.tap != "tap0" || f.pidfile == "" || f.pidfile[0] != '/' || f.args.Descr != "vde_plug2tap:" || f.daemon {
		t.Fatalf("flags %+v", f)
	}
	f, _ = parsePlug2tapFlags("vde_plug2tap", []string{"-m", "zz", "-d", "--maxframe", "9014", "t"})
	if f == nil || f.args.Mode != 0700 || !f.daemon || f.maxFrame != 9014 || f.args.MaxFrame != 9014 || f.sockSet {
		t.Fatalf("defaults %+v", f)
	}
	// Usage (status 255) for help, a bad option, a port ≤ 0, no tap name.
	devnull, _ := os.Open(os.DevNull)
	stderr := os.Stderr
	os.Stderr = devnull
	defer func() { os.Stderr = stderr; devnull.Close() }()
	for _, args := range [][]string{{"-h"}, {"-x", "t"}, {"-p", "0", "t"}, {"-p", "abc", "t"}, {}, {"-s", "/x"}, {"--maxframe", "5", "t"}} {
		if f, code := parsePlug2tapFlags("vde_plug2tap", args); f != nil || code != 255 {
			t.Errorf("%q: %+v %d, want usage", args, f, code)
		}
	}
}

func TestCAtoiOctal(t *testing.T) {
	for s, want := range map[string]int{"12": 12, " 7x": 7, "-3": -3, "x": 0, "": 0, "+4": 4} {
		if got := cAtoi(s); got != want {
			t.Errorf("cAtoi(%q) = %d, want %d", s, got, want)
		}
	}
	for s, want := range map[string]uint64{"0660": 0660, "755abc": 0755, "8": 0} {
		got, ok := cOctal(s)
		if got != want || ok != (s != "8") {
			t.Errorf("cOctal(%q) = %o %v", s, got, ok)
		}
	}
}
