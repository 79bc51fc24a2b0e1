package getopt

import (
	"reflect"
	"strings"
	"testing"
)

func set(longOnly bool) *Set {
	return &Set{LongOnly: longOnly, Opts: []Option{
		{Short: 'n', Long: []string{"numports"}, HasArg: true},
		{Short: 'x', Long: []string{"hub"}},
		{Short: 'F', Long: []string{"fstp"}},
		{Long: []string{"macaddr"}, HasArg: true},
		{Long: []string{"mgmtmode"}, HasArg: true},
		{Short: 'M', Long: []string{"mgmt"}, HasArg: true},
		{Short: 's', Long: []string{"sock", "vdesock", "unix"}, HasArg: true},
	}}
}

func flat(p []Parsed) string {
	var s []string
	for _, o := range p {
		s = append(s, o.Key()+"="+o.Arg)
	}
	return strings.Join(s, ",")
}

func TestParse(t *testing.T) {
	cases := []struct {
		longOnly bool
		args     []string
		want     string
		rest     []string
		warns    int
	}{
		{false, []string{"-n", "6", "-xF"}, "numports=6,hub=,fstp=", nil, 0},
		{false, []string{"-n6", "--numports=7", "--num", "8"}, "numports=6,numports=7,numports=8", nil, 0},
		{true, []string{"-numports", "6", "-hub"}, "numports=6,hub=", nil, 0},
		{true, []string{"-vdesock", "/x", "--unix=/y"}, "sock=/x,sock=/y", nil, 0},
		{false, []string{"--mgmt", "/m", "--mgmtm", "660"}, "mgmt=/m,mgmtmode=660", nil, 0},
		{false, []string{"--mg", "x"}, "", []string{"x"}, 1}, // ambiguous
		{false, []string{"--nostdin", "a"}, "", []string{"a"}, 1},
		{false, []string{"-q", "-x"}, "hub=", nil, 1},
		{false, []string{"a", "-x", "--", "-n"}, "hub=", []string{"a", "-n"}, 0},
		{false, []string{"-n"}, "", nil, 1},
	}
	for _, c := range cases {
		s := set(c.longOnly)
		warns := 0
		s.Warn = func(string) { warns++ }
		got, rest := s.Parse(c.args)
		if flat(got) != c.want || !reflect.DeepEqual(rest, c.rest) || warns != c.warns {
			t.Errorf("%v: got %q rest %q warns %d; want %q %q %d", c.args, flat(got), rest, warns, c.want, c.rest, c.warns)
		}
	}
}

func TestStopAtNonOption(t *testing.T) {
	s := &Set{StopAtNonOption: true, Opts: []Option{{Short: 'd'}, {Short: 'p', HasArg: true}}}
	got, rest := s.Parse([]string{"-d", "-p", "f", "vde_plug", "-d", "=", "x"})
	if flat(got) != "d=,p=f" || !reflect.DeepEqual(rest, []string{"vde_plug", "-d", "=", "x"}) {
		t.Fatalf("%q %q", flat(got), rest)
	}
}

func TestLongOnlyShortFallback(t *testing.T) {
	s := &Set{LongOnly: true, Opts: []Option{
		{Short: 'p', Long: []string{"pidfile"}, HasArg: true},
		{Long: []string{"priority"}, HasArg: true},
		{Short: 'x', Long: []string{"hub"}},
	}}
	warns := 0
	s.Warn = func(string) { warns++ }
	got, _ := s.Parse([]string{"-p", "f", "-pri", "7", "-xp", "g", "-pid", "h"})
	if flat(got) != "pidfile=f,priority=7,hub=,pidfile=g,pidfile=h" || warns != 0 {
		t.Fatalf("%q warns %d", flat(got), warns)
	}
	s.Parse([]string{"-zz"})
	if warns != 1 {
		t.Fatalf("unknown -zz: %d warnings", warns)
	}
}
