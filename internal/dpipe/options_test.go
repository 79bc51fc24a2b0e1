package dpipe

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name    string
		args    string
		want    options
		rest    string
		message string
	}{
		{"none", "a = b", options{}, "a = b", ""},
		{"short flags", "-d -n a = b", options{daemon: true, noWrap: true}, "a = b", ""},
		{"cluster", "-dN a", options{daemon: true, noWrap: true, noClean: true}, "a", ""},
		{"pidfile separate", "-p F -P G a", options{pidfile: "F", hasPid: true, pgrpfile: "G", hasPgrp: true}, "a", ""},
		{"pidfile attached", "-pF -dPG a", options{pidfile: "F", hasPid: true, daemon: true, pgrpfile: "G", hasPgrp: true}, "a", ""},
		{"pidfile takes a dash word", "-p -n a", options{pidfile: "-n", hasPid: true}, "a", ""},
		{"pidfile takes =", "-p = a = b", options{pidfile: "=", hasPid: true}, "a = b", ""},
		{"long", "--daemon --nowrapproc --pidfile F --pgrpfile=G a", options{
			daemon: true, noWrap: true, pidfile: "F", hasPid: true, pgrpfile: "G", hasPgrp: true}, "a", ""},
		{"long abbreviations", "--d --nowrapn --pi=F --pg G a", options{
			daemon: true, noWrap: true, noClean: true, pidfile: "F", hasPid: true, pgrpfile: "G", hasPgrp: true}, "a", ""},
		{"empty long value", "--pidfile= a", options{pidfile: "", hasPid: true}, "a", ""},
		{"stops at first non-option", "a -d = b", options{}, "a -d = b", ""},
		{"double dash", "-- -d = b", options{}, "-d = b", ""},
		{"single dash is a non-option", "- = b", options{}, "- = b", ""},
		{"invalid short", "-x a", options{}, "a", "dpipe: invalid option -- 'x'\n"},
		{"invalid in cluster", "-dxn a", options{daemon: true, noWrap: true}, "a", "dpipe: invalid option -- 'x'\n"},
		{"colon is invalid", "-: a", options{}, "a", "dpipe: invalid option -- ':'\n"},
		{"missing short arg", "-p", options{}, "", "dpipe: option requires an argument -- 'p'\n"},
		{"unrecognized long", "--foo=bar a", options{}, "a", "dpipe: unrecognized option '--foo=bar'\n"},
		{"ambiguous p", "--p x a", options{}, "x a",
			"dpipe: option '--p' is ambiguous; possibilities: '--pidfile' '--pgrpfile'\n"},
		{"ambiguous n", "--nowrap a", options{}, "a",
			"dpipe: option '--nowrap' is ambiguous; possibilities: '--nowrapproc' '--nowrapnoclean'\n"},
		{"ambiguous empty name", "--=x a", options{}, "a",
			"dpipe: option '--=x' is ambiguous; possibilities: '--nowrapproc' '--nowrapnoclean' '--pidfile' '--pgrpfile' '--daemon' '--help'\n"},
		{"no argument allowed", "--daemon=1 a", options{}, "a", "dpipe: option '--daemon' doesn't allow an argument\n"},
		{"missing long arg", "--pgrpfile", options{}, "", "dpipe: option '--pgrpfile' requires an argument\n"},
		{"help", "-h a", options{help: true}, "", ""},
		{"help stops parsing", "-x -d --help -y a", options{daemon: true, help: true}, "", "dpipe: invalid option -- 'x'\n"},
		{"help in cluster", "-dhx", options{daemon: true, help: true}, "", ""},
		{"help abbreviated", "--he", options{help: true}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			got, rest := parseOptions(strings.Fields(tt.args), &stderr)
			if got != tt.want {
				t.Errorf("options = %+v, want %+v", got, tt.want)
			}
			if !tt.want.help && !slices.Equal(rest, strings.Fields(tt.rest)) {
				t.Errorf("rest = %q, want %q", rest, tt.rest)
			}
			if stderr.String() != tt.message {
				t.Errorf("stderr = %q, want %q", stderr.String(), tt.message)
			}
		})
	}
}

func TestCleanupNeeded(t *testing.T) {
	for _, tt := range []struct {
		o    options
		want bool
	}{
		{options{}, false},
		{options{hasPid: true}, true},
		{options{hasPgrp: true, noWrap: true}, true},
		{options{hasPid: true, noWrap: true, noClean: true}, false},
	} {
		if got := tt.o.cleanupNeeded(); got != tt.want {
			t.Errorf("%+v.cleanupNeeded() = %v, want %v", tt.o, got, tt.want)
		}
	}
}

// TestHelpInProcess calls Main itself: if -h signalled the process group
// like the original, the test binary (and go test) would be killed here.
func TestHelpInProcess(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"--he", "a", "=", "b"}, {"-dh"}, {"-p", "/nonexistent/x", "-h"}} {
		var stderr bytes.Buffer
		if got := Main(args, &stderr); got != 255 {
			t.Errorf("Main(%q) = %d, want 255", args, got)
		}
		if stderr.String() != usageText {
			t.Errorf("Main(%q) stderr = %q, want the usage", args, stderr.String())
		}
	}
	var stderr bytes.Buffer
	if got := Main([]string{"-x", "--help"}, &stderr); got != 255 || stderr.String() != "dpipe: invalid option -- 'x'\n"+usageText {
		t.Errorf("Main(-x --help) = %d, %q", got, stderr.String())
	}
	if !strings.HasPrefix(usageText, "Usage:\n  dpipe [OPTIONS} cmd1") {
		t.Errorf("usage text starts %q", usageText[:40])
	}
}
