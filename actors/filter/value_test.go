package filter

import (
	"math"
	"strings"
	"testing"
)

func TestParseValue(t *testing.T) {
	cases := []struct {
		in     string
		lr, rl bool
		v      Value
		node   int
	}{
		{"10", true, true, Value{V: 10}, 0},
		{"LR10", true, false, Value{V: 10}, 0},
		{"RL 5+2", false, true, Value{V: 5, Plus: 2}, 0},
		{"LR 10+5N", true, false, Value{V: 10, Plus: 5, Normal: true}, 0},
		{"128+64KN", true, true, Value{V: 131072, Plus: 65536, Normal: true}, 0},
		{"1.5M", true, true, Value{V: 1572864}, 0},
		{"1g", true, true, Value{V: 1 << 30}, 0},
		{"2ku", true, true, Value{V: 2048}, 0},
		{"3n", true, true, Value{V: 3, Normal: true}, 0},
		{"-5", true, true, Value{V: -5}, 0},
		{"1e3", true, true, Value{V: 1000}, 0},
		{".5", true, true, Value{V: 0.5}, 0},
		{"30[1]", true, true, Value{V: 30}, 1},
		{"LR30 [ 2 ]", true, false, Value{V: 30}, 2},
		{"  7 \n\t", true, true, Value{V: 7}, 0},
	}
	for _, c := range cases {
		st, err := ParseValue(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if st.LR != c.lr || st.RL != c.rl || st.Value != c.v || st.Node != c.node {
			t.Errorf("%q: got %+v", c.in, st)
		}
	}
	for _, bad := range []string{"", "abc", "LR", "K", "128K+64", "10NK", "10+", "10 +5", "1+2+3", "nan", "inf", "1e999", "10]", "10[a]", "0x10", "LR RL 5", "5 5"} {
		if st, err := ParseValue(bad); err == nil {
			t.Errorf("%q accepted: %+v", bad, st)
		}
	}
}

func TestFormatG(t *testing.T) {
	for in, want := range map[float64]string{
		0: "0", 5: "5", 131072: "131072", 1572864: "1.57286e+06", 0.1: "0.1", 1e-5: "1e-05",
		100000: "100000", 1e6: "1e+06", -2.5: "-2.5", math.Inf(1): "inf", math.NaN(): "nan",
	} {
		if got := FormatG(in); got != want {
			t.Errorf("FormatG(%v) = %q, want %q", in, got, want)
		}
	}
	if s := (Value{V: 1572864, Normal: false}).String(); s != "1.57286e+06+0U" {
		t.Errorf("Value.String: %q", s)
	}
}

func FuzzParseValue(f *testing.F) {
	for _, s := range []string{"10", "LR 10+5N", "RL1.5M", "128+64KN[1]", "abc", "1e308K", "-0", "[", "]", "LR[0]", "5+-3g"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, err := ParseValue(s)
		if err != nil {
			return
		}
		if !st.LR && !st.RL {
			t.Fatalf("%q: no direction", s)
		}
		if math.IsNaN(st.Value.V) || math.IsInf(st.Value.V, 0) || math.IsNaN(st.Value.Plus) || math.IsInf(st.Value.Plus, 0) {
			t.Fatalf("%q: non-finite value %+v", s, st.Value)
		}
		// Trailing blanks never change the result.
		st2, err := ParseValue(s + " \t\n")
		if err != nil || st2 != st {
			t.Fatalf("%q with trailing blanks: %+v, %v (was %+v)", s, st2, err, st)
		}
		// A direction prefix restricts a two-way value to that direction.
		if st.LR && st.RL && !strings.HasPrefix(strings.TrimLeft(s, " \t\n\r"), "LR") && !strings.HasPrefix(strings.TrimLeft(s, " \t\n\r"), "RL") {
			st3, err := ParseValue("RL" + strings.TrimLeft(s, " \t\n\r"))
			if err != nil || st3.LR || !st3.RL || st3.Value != st.Value || st3.Node != st.Node {
				t.Fatalf("RL%q: %+v, %v (was %+v)", s, st3, err, st)
			}
		}
	})
}
