package cmd

import (
	"reflect"
	"testing"
)

// Expected values from libexecs 1.3 (Debian bookworm), the library
// vdeplug4's cmd:// uses, each checked against the real vde_plug running
// `cmd://sh -c 'printf "<%s>" "$0" "$@" >&2' INPUT`.
func TestArgv(t *testing.T) {
	for in, want := range map[string][]string{
		`sh -c 'echo "[$0][$1][$2]" >&2' $HOME a\ b;echo x`: {"sh", "-c", `echo "[$0][$1][$2]" >&2`, "", "a b"},
		`sh -c 'echo "[$0]" >&2' x$HOME`:                    {"sh", "-c", `echo "[$0]" >&2`, "xHOME"},
		`vde_plug /tmp/sw`:                                  {"vde_plug", "/tmp/sw"},
		"  ssh\thost\n vde_plug  ":                          {"ssh", "host", "vde_plug"},
		`a "b c" 'd e' f\ g`:                                {"a", "b c", "d e", "f g"},
		`"a\"b" c`:                                          {`a\"b`, "c"},
		`a"b"'c'd`:                                          {"abcd"},
		`x ; y`:                                             {"x"},
		`;y`:                                                {},
		``:                                                  {},
		`   `:                                               {},
		`'unterminated quote`:                               {"unterminated quote"},
		`$A $B c`:                                           {"", "", "c"},
		`a\`:                                                {"a"},
		`"a\\b" 'c\d' e\\f`:                                 {`a\\b`, `c\d`, `e\f`},
		`a$ b$c "$d"`:                                       {"a", "bc", "$d"},
	} {
		if got := Argv(in); !reflect.DeepEqual(got, want) {
			t.Errorf("Argv(%q) = %q, want %q", in, got, want)
		}
	}
}
