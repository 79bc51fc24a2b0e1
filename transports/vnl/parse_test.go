package vnl

import (
	"errors"
	"fmt"
	"reflect"
	"syscall"
	"testing"
)

// Option tables of real modules (vdeplug4 4.0.1 and plugins).
var (
	vdeKeys   = []string{"port", "portgroup", "group", "mode"}
	vxvdeKeys = []string{"port", "vni", "ttl", "grp", "v6", "hashsize", "expiretime", "if"}
	vlanKeys  = []string{"u", "untag", "t", "tag", "x", "trunk", "qinq"}
)

func TestTokenizer(t *testing.T) {
	tests := []struct {
		in, delims, tok, rest string
		found                 bool
	}{
		{"", "/", "", "", false},
		{"abc", "/", "abc", "", false},
		{"a/b/c", "/", "a", "b/c", true},
		{"/x", "/", "", "x", true},
		{"/tmp/vt/s%77", "[", "/tmp/vt/sw", "", false},
		{"%41%4a%4A%6f", "/", "AJJo", "", false},
		{"%zz%4%", "/", "%zz%4%", "", false},
		{"%4z", "/", "%4z", "", false},
		{"%%41", "/", "%A", "", false},
		{"%z%41", "/", "%zA", "", false},
		{"%2F/x", "/", "/", "x", true},         // a decoded byte is not a delimiter
		{"%27a%27", "/", "'a'", "", false},     // nor a quote
		{`%\41`, "/", "%41", "", false},        // an escape breaks %HH
		{`'s'w["7"]`, "[", "sw", `"7"]`, true}, // quotes removed
		{`'a/b'/c`, "/", "a/b", "c", true},
		{`"a'b"`, "/", "a'b", "", false},
		{`'a"b'`, "/", `a"b`, "", false},
		{`'%41\x'`, "/", `%41\x`, "", false}, // inside quotes % and \ are literal
		{`a\/b/c`, "/", "a/b", "c", true},
		{`\'x`, "/", "'x", "", false},
		{`\\`, "/", `\`, "", false},
		{`ab\`, "/", "ab", "", false}, // a trailing backslash is dropped
		{`'unterminated/x`, "/", "unterminated/x", "", false},
		{"a%/b", "/", "a%", "b", true},
		{"a[b]", "[]", "a", "b]", true},
	}
	for _, tt := range tests {
		tok, rest, found := cut(tt.in, tt.delims)
		if tok != tt.tok || rest != tt.rest || found != tt.found {
			t.Errorf("cut(%q, %q) = %q, %q, %v; want %q, %q, %v", tt.in, tt.delims, tok, rest, found, tt.tok, tt.rest, tt.found)
		}
		ctok, crest, cfound := cStrtokq(tt.in, tt.delims)
		if ctok != tt.tok || crest != tt.rest || cfound != tt.found {
			t.Errorf("C port on %q: %q, %q, %v; the table is wrong", tt.in, ctok, crest, cfound)
		}
	}
}

func TestParseBracket(t *testing.T) {
	type o = Option
	tests := []struct {
		arg        string
		keys       []string
		positional bool
		path       string
		opts       Options
		pos        string
		errKey     string // non-empty: a KeyError for this key
	}{
		// Spec §1.2 examples.
		{arg: "/tmp/vt/s%77[po=6/mode=0660]", keys: vdeKeys, positional: true,
			path: "/tmp/vt/sw", opts: Options{{"port", "6"}, {"mode", "0660"}}},
		{arg: `/tmp/vt/'s'w["7"]`, keys: vdeKeys, positional: true,
			path: "/tmp/vt/sw", opts: Options{{"", "7"}}, pos: "7"},
		{arg: "/x[foo=1]", keys: vdeKeys, positional: true, errKey: "foo"},
		{arg: "/sw[3]", keys: vdeKeys, positional: true, path: "/sw", opts: Options{{"", "3"}}, pos: "3"},
		{arg: "/sw[lan7]", keys: vdeKeys, positional: true, path: "/sw", opts: Options{{"", "lan7"}}, pos: "lan7"},
		{arg: "/tmp/sw[3]", keys: vdeKeys, positional: true, path: "/tmp/sw", opts: Options{o{"", "3"}}, pos: "3"},
		{arg: "/x[mode=0660]", keys: vdeKeys, positional: true, path: "/x", opts: Options{{"mode", "0660"}}},
		// No options.
		{arg: "", keys: vdeKeys, positional: true},
		{arg: "/tmp/sw", keys: vdeKeys, path: "/tmp/sw"},
		{arg: "/tmp/sw[]", keys: vdeKeys, path: "/tmp/sw"},
		{arg: "/tmp/sw[", keys: vdeKeys, path: "/tmp/sw"},
		{arg: "/tmp/sw[//=x//]", keys: vdeKeys, path: "/tmp/sw"}, // empty elements and empty keys ignored
		{arg: "[3]", keys: vdeKeys, positional: true, opts: Options{{"", "3"}}, pos: "3"},
		// Prefix matching: first table entry that starts with the key.
		{arg: "/s[p=1/port=2/portg=3/g=4/m=5]", keys: vdeKeys,
			path: "/s", opts: Options{{"port", "1"}, {"port", "2"}, {"portgroup", "3"}, {"group", "4"}, {"mode", "5"}}},
		{arg: "/s[g]", keys: vdeKeys, positional: true, path: "/s", opts: Options{{"group", ""}}},
		{arg: "/s[ports=1]", keys: vdeKeys, errKey: "ports"},
		{arg: "/s[lan]", keys: vdeKeys, errKey: "lan"},                           // bare word without positional
		{arg: "/s[lan=1]", keys: vdeKeys, positional: true, errKey: "lan"},       // key=value never positional
		{arg: "/s[3/nope=1/4]", keys: vdeKeys, positional: true, errKey: "nope"}, // error wins over earlier options
		// Values.
		{arg: "/s[port=a=b]", keys: vdeKeys, path: "/s", opts: Options{{"port", "a=b"}}},
		{arg: "/s[port=]", keys: vdeKeys, path: "/s", opts: Options{{"port", ""}}},
		{arg: "/s[%70ort=5]", keys: vdeKeys, path: "/s", opts: Options{{"port", "5"}}},     // key decoded before matching
		{arg: "/s[port%3D5]", keys: vdeKeys, path: "/s", opts: Options{{"port", "5"}}},     // so is '='
		{arg: `/s["port=a/b"]`, keys: vdeKeys, path: "/s", opts: Options{{"port", "a/b"}}}, // quoted '/'
		{arg: `/s[port=a\/b]`, keys: vdeKeys, path: "/s", opts: Options{{"port", "a/b"}}},
		{arg: `/s[port="]"]`, keys: vdeKeys, path: "/s", opts: Options{{"port", "]"}}},
		// Option list ends at the last unquoted ']'.
		{arg: "/s[po=6]junk", keys: vdeKeys, path: "/s", opts: Options{{"port", "6"}}},
		{arg: "/s[po=6]x]", keys: vdeKeys, path: "/s", opts: Options{{"port", "6]x"}}},
		{arg: "/s[a]w[3]", keys: vdeKeys, positional: true, path: "/s", opts: Options{{"", "a]w[3"}}, pos: "a]w[3"},
		{arg: `/s[po=6\]`, keys: vdeKeys, path: "/s", opts: Options{{"port", "6]"}}},
		// The path ends at the first unquoted '['.
		{arg: `/a\[b[3]`, keys: vdeKeys, positional: true, path: "/a[b", opts: Options{{"", "3"}}, pos: "3"},
		{arg: `'/a[b'[3]`, keys: vdeKeys, positional: true, path: "/a[b", opts: Options{{"", "3"}}, pos: "3"},
		{arg: `/a%5Bb[3]`, keys: vdeKeys, positional: true, path: "/a[b", opts: Options{{"", "3"}}, pos: "3"},
		{arg: `'abc[3]`, keys: vdeKeys, positional: true, path: "abc[3]"},
		// Positional and aliases: the last one wins (see Options.Last).
		{arg: "/s[3/port=5]", keys: vdeKeys, positional: true, path: "/s", opts: Options{{"", "3"}, {"port", "5"}}, pos: "3"},
		{arg: "/s[3/4]", keys: vdeKeys, positional: true, path: "/s", opts: Options{{"", "3"}, {"", "4"}}, pos: "4"},
		// Netnode-style table.
		{arg: "/tmp/hub[mode=0666/dirmode=0777/group=vde]", keys: []string{"mode", "dirmode", "group"},
			path: "/tmp/hub", opts: Options{{"mode", "0666"}, {"dirmode", "0777"}, {"group", "vde"}}},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			path, opts, pos, err := ParseBracket(tt.arg, tt.keys, tt.positional)
			if tt.errKey != "" {
				checkKeyError(t, err, tt.errKey)
				return
			}
			if err != nil {
				t.Fatalf("error %v", err)
			}
			if path != tt.path || pos != tt.pos || !reflect.DeepEqual(opts, tt.opts) {
				t.Fatalf("got %q %q %q, want %q %q %q", path, opts, pos, tt.path, tt.opts, tt.pos)
			}
		})
	}
}

func checkKeyError(t *testing.T, err error, key string) {
	t.Helper()
	var ke *KeyError
	if !errors.As(err, &ke) || ke.Key != key {
		t.Fatalf("error %v, want a KeyError for %q", err, key)
	}
	if want := "unknwown key: " + key; err.Error() != want {
		t.Fatalf("error text %q, want %q", err, want)
	}
	if !errors.Is(err, syscall.EINVAL) {
		t.Fatal("KeyError does not wrap EINVAL")
	}
}

func TestOptionsLast(t *testing.T) {
	_, opts, _, err := ParseBracket("/s[3/port=5/mode=0600/portg=lan]", vdeKeys, true)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := opts.Last("", "port", "portgroup"); !ok || v != "lan" {
		t.Errorf("portgroup %q %v", v, ok)
	}
	if v, ok := opts.Last("port"); !ok || v != "5" {
		t.Errorf("port %q %v", v, ok)
	}
	if _, ok := opts.Last("group"); ok || opts.Has("group") || !opts.Has("mode") {
		t.Error("Has/Last wrong for absent keys")
	}
	var none Options
	if _, ok := none.Last("x"); ok {
		t.Error("Last on nil Options")
	}
}

func TestParseSlash(t *testing.T) {
	tests := []struct {
		arg, addr string
		keys      []string
		opts      Options
		errKey    string
	}{
		{arg: "239.1.2.3/port=1234/vni=5", keys: vxvdeKeys, addr: "239.1.2.3", opts: Options{{"port", "1234"}, {"vni", "5"}}},
		{arg: "/hashsize=0", keys: vxvdeKeys, opts: Options{{"hashsize", "0"}}},
		{arg: "", keys: vxvdeKeys},
		{arg: "239.1.2.3", keys: vxvdeKeys, addr: "239.1.2.3"},
		{arg: "x//v6/", keys: vxvdeKeys, addr: "x", opts: Options{{"v6", ""}}},
		{arg: "x/h=0/e=10/t=1", keys: vxvdeKeys, addr: "x", opts: Options{{"hashsize", "0"}, {"expiretime", "10"}, {"ttl", "1"}}},
		{arg: "x/foo", keys: vxvdeKeys, errKey: "foo"},
		{arg: "x/3", keys: vxvdeKeys, errKey: "3"}, // no positional words
		{arg: `'a/b'/port=1`, keys: vxvdeKeys, addr: "a/b", opts: Options{{"port", "1"}}},
		{arg: "%2F/port=1", keys: vxvdeKeys, addr: "/", opts: Options{{"port", "1"}}},
		{arg: "[ff05::1]/v6", keys: vxvdeKeys, addr: "[ff05::1]", opts: Options{{"v6", ""}}}, // brackets mean nothing here
		{arg: "5/qinq", keys: vlanKeys, addr: "5", opts: Options{{"qinq", ""}}},
		{arg: "3/t=10,11/u=7", keys: vlanKeys, addr: "3", opts: Options{{"t", "10,11"}, {"u", "7"}}},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			addr, opts, err := ParseSlash(tt.arg, tt.keys)
			if tt.errKey != "" {
				checkKeyError(t, err, tt.errKey)
				return
			}
			if err != nil {
				t.Fatalf("error %v", err)
			}
			if addr != tt.addr || !reflect.DeepEqual(opts, tt.opts) {
				t.Fatalf("got %q %q, want %q %q", addr, opts, tt.addr, tt.opts)
			}
		})
	}
}

func TestParseNested(t *testing.T) {
	tests := []struct {
		arg, outer, nested string
		err                error
	}{
		{arg: "3{vde:///x}", outer: "3", nested: "vde:///x"},
		{arg: "3{tap://mytap}", outer: "3", nested: "tap://mytap"},
		{arg: "4{vlan://5/qinq{vxvde://234.1.2.3}}", outer: "4", nested: "vlan://5/qinq{vxvde://234.1.2.3}"},
		{arg: "/tmp/key[ethtype=copy]{vde:///tmp/sw}", outer: "/tmp/key[ethtype=copy]", nested: "vde:///tmp/sw"},
		{arg: "[delay=LR100]{vxvde://}", outer: "[delay=LR100]", nested: "vxvde://"},
		{arg: "3{}", outer: "3"},
		{arg: "3{vde:///x", outer: "3", nested: "vde:///x"},      // no '}': to the end
		{arg: "3{vde:///x}junk", outer: "3", nested: "vde:///x"}, // after the last '}': ignored
		{arg: `'a{b'{x}`, outer: `'a{b'`, nested: "x"},           // outer stays raw
		{arg: `a\{b{x}`, outer: `a\{b`, nested: "x"},
		{arg: `3{vde:///'x}'}`, outer: "3", nested: `vde:///'x}'`}, // nested stays raw
		{arg: `3{vde:///%41"y"}`, outer: "3", nested: `vde:///%41"y"`},
		{arg: "3", outer: "3", err: ErrNoNested},
		{arg: "", err: ErrNoNested},
		{arg: "%7Bx}", outer: "%7Bx}", err: ErrNoNested},
	}
	for _, tt := range tests {
		outer, nested, err := ParseNested(tt.arg)
		if outer != tt.outer || nested != tt.nested || err != tt.err {
			t.Errorf("ParseNested(%q) = %q, %q, %v; want %q, %q, %v", tt.arg, outer, nested, err, tt.outer, tt.nested, tt.err)
		}
	}
	if !errors.Is(ErrNoNested, syscall.EINVAL) {
		t.Error("ErrNoNested does not wrap EINVAL")
	}
}

// TestNestedChain walks vlan://4{vlan://5/qinq{vxvde://234.1.2.3}} the way
// the modules do: Split, ParseNested, ParseSlash, then Open the nested VNL.
func TestNestedChain(t *testing.T) {
	type level struct {
		module, addr string
		opts         Options
	}
	var got []level
	vnl := "vlan://4{vlan://5/qinq{vxvde://234.1.2.3}}"
	for {
		module, arg, err := Split(vnl)
		if err != nil {
			t.Fatal(err)
		}
		if module != "vlan" {
			addr, opts, err := ParseSlash(arg, vxvdeKeys)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, level{module, addr, opts})
			break
		}
		outer, nested, err := ParseNested(arg)
		if err != nil {
			t.Fatal(err)
		}
		addr, opts, err := ParseSlash(outer, vlanKeys)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, level{module, addr, opts})
		vnl = nested
	}
	want := []level{{"vlan", "4", nil}, {"vlan", "5", Options{{"qinq", ""}}}, {"vxvde", "234.1.2.3", nil}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func ExampleParseBracket() {
	path, opts, pos, err := ParseBracket("/tmp/vt/s%77[po=6/mode=0660]", []string{"port", "portgroup", "group", "mode"}, true)
	fmt.Println(path, opts, pos == "", err)
	_, _, _, err = ParseBracket("/x[foo=1]", []string{"port", "portgroup", "group", "mode"}, true)
	fmt.Println(err)
	// Output:
	// /tmp/vt/sw [{port 6} {mode 0660}] true <nil>
	// unknwown key: foo
}
