package cmd

import (
	"strings"
	"testing"
)

// Argv never panics, never returns more words than the input has bytes,
// and a line of plain words splits like strings.Fields.
func FuzzArgv(f *testing.F) {
	for _, s := range []string{`a "b c" 'd' e\ f;g`, `$X y`, `"a\"b"`, `'`, `\`, "a\tb\nc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		argv := Argv(s)
		if len(argv) > len(s) {
			t.Fatalf("%q: %d words", s, len(argv))
		}
		if !strings.ContainsAny(s, "'\"\\;$\x00\r\v\f") {
			want := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' })
			if strings.Join(argv, "\x00") != strings.Join(want, "\x00") {
				t.Fatalf("%q: %q, want %q", s, argv, want)
			}
		}
	})
}
