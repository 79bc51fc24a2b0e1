package vnl

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func FuzzSplit(f *testing.F) {
	for _, s := range []string{
		"", "vde:///tmp/vt/s%77[po=6/mode=0660]", `vde:///tmp/vt/'s'w["7"]`, "nosuch://x",
		"vlan://4{vlan://5/qinq{vxvde://234.1.2.3}}", "/tmp/sw[3]", "://", ":/", "a:/b://c", "/",
	} {
		f.Add(s)
	}
	f.Setenv("HOME", f.TempDir())
	f.Fuzz(func(t *testing.T, vnl string) {
		module, arg, err := Split(vnl)
		if strings.Contains(module, "://") {
			t.Fatalf("module %q contains ://", module)
		}
		if strings.Contains(vnl, "://") {
			if err != nil || module+"://"+arg != vnl {
				t.Fatalf("Split(%q) = %q, %q, %v", vnl, module, arg, err)
			}
			return
		}
		if fi, serr := os.Stat(vnl); serr == nil && fi.Mode().IsRegular() {
			return // the result comes from the file
		}
		if err != nil || module != DefaultModule || arg != vnl {
			t.Fatalf("Split(%q) = %q, %q, %v; want the vde module", vnl, module, arg, err)
		}
	})
}

// pct encodes every byte as %HH, which the tokenizer must decode back.
func pct(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

// quote protects s with whichever quote character it does not contain.
func quote(s string) (string, bool) {
	switch {
	case !strings.Contains(s, "'"):
		return "'" + s + "'", true
	case !strings.Contains(s, `"`):
		return `"` + s + `"`, true
	}
	return "", false
}

func FuzzParseBracket(f *testing.F) {
	for _, s := range []string{
		"/tmp/vt/s%77[po=6/mode=0660]", `/tmp/vt/'s'w["7"]`, "/x[foo=1]", "/s[a]w[3]", `/a\[b[3]`,
		`'abc[3]`, `/s[port="]"]`, "%4", "%%41", `\`, "[=/=]",
	} {
		f.Add(s, "/tmp/sw", "v", uint8(0), true)
	}
	f.Fuzz(func(t *testing.T, arg, path, val string, k uint8, positional bool) {
		// Invariants on arbitrary input.
		p, opts, pos, err := ParseBracket(arg, vdeKeys, positional)
		if err != nil {
			var ke *KeyError
			if !errors.As(err, &ke) || !errors.Is(err, syscall.EINVAL) || opts != nil {
				t.Fatalf("ParseBracket(%q): bad error %#v", arg, err)
			}
		} else {
			for _, o := range opts {
				if o.Key == "" && !positional {
					t.Fatalf("positional option %q without positional", o)
				}
				if o.Key != "" && !slices.Contains(vdeKeys, o.Key) {
					t.Fatalf("option key %q not in the table", o.Key)
				}
			}
			if last, _ := opts.Last(""); last != pos {
				t.Fatalf("pos %q, last positional %q", pos, last)
			}
			if len(p) > len(arg) {
				t.Fatalf("path %q longer than the argument", p)
			}
		}

		// The tokenizer agrees with the literal port of the C state machine.
		if !strings.ContainsRune(arg, 0) {
			for _, d := range []string{"[", "/", "]"} {
				tok, rest, found := cut(arg, d)
				ctok, crest, cfound := cStrtokq(arg, d)
				if tok != ctok || rest != crest || found != cfound {
					t.Fatalf("cut(%q, %q) = %q %q %v, C: %q %q %v", arg, d, tok, rest, found, ctok, crest, cfound)
				}
			}
			if a, c := unquotedIndex(arg, ']', true), cRevIndex(arg, "]"); a != c {
				t.Fatalf("last ']' of %q: %d, C: %d", arg, a, c)
			}
			if a, c := unquotedIndex(arg, '{', false), cNostripIndex(arg, "{"); a != c {
				t.Fatalf("first '{' of %q: %d, C: %d", arg, a, c)
			}
		}

		// Encoded input round-trips.
		key := vdeKeys[int(k)%len(vdeKeys)]
		enc := pct(path) + "[" + pct(key) + "=" + pct(val) + "/" + pct(key[:1+int(k)%len(key)]) + "]"
		p, opts, _, err = ParseBracket(enc, vdeKeys, positional)
		wantKey2, _ := matchKey(vdeKeys, key[:1+int(k)%len(key)])
		want := Options{{key, val}, {wantKey2, ""}}
		if err != nil || p != path || !reflect.DeepEqual(opts, want) {
			t.Fatalf("ParseBracket(%q) = %q %q %v; want %q %q", enc, p, opts, err, path, want)
		}
		if qp, ok := quote(path); ok {
			if qv, ok := quote(val); ok {
				enc := qp + "[" + key + "=" + qv + "]"
				p, opts, _, err := ParseBracket(enc, vdeKeys, positional)
				if err != nil || p != path || !reflect.DeepEqual(opts, Options{{key, val}}) {
					t.Fatalf("ParseBracket(%q) = %q %q %v", enc, p, opts, err)
				}
			}
		}
	})
}

func FuzzParseNested(f *testing.F) {
	for _, s := range []string{"3{vde:///x}", "4{vlan://5/qinq{vxvde://234.1.2.3}}", `'a{b'{x}`, `a\{b{x}`, "3", "{", "}{"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		outer, nested, err := ParseNested(arg)
		if err != nil {
			if err != ErrNoNested || outer != arg || nested != "" {
				t.Fatalf("ParseNested(%q) = %q %q %v", arg, outer, nested, err)
			}
			return
		}
		if len(outer) >= len(arg) || arg[:len(outer)] != outer || arg[len(outer)] != '{' ||
			!strings.HasPrefix(arg[len(outer)+1:], nested) {
			t.Fatalf("ParseNested(%q) = %q %q: not a cut of the argument", arg, outer, nested)
		}
		if !strings.ContainsRune(arg, 0) && cNostripIndex(arg, "{") != len(outer) {
			t.Fatalf("ParseNested(%q): C cuts at %d, we at %d", arg, cNostripIndex(arg, "{"), len(outer))
		}
		if _, ok := strings.CutPrefix(arg[len(outer)+1+len(nested):], "}"); !ok && len(arg) != len(outer)+1+len(nested) {
			t.Fatalf("ParseNested(%q): nested %q does not end at a '}' or the end", arg, nested)
		}
	})
}
