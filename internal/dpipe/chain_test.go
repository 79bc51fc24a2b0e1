package dpipe

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseChain(t *testing.T) {
	type st struct {
		argv string // words joined by " "
		kind stageKind
	}
	tests := []struct {
		name  string
		words string
		want  []st // nil = usage error
	}{
		{"two", "a = b", []st{{"a", kindFirst}, {"b", kindLast}}},
		{"args", "a -x y = b z", []st{{"a -x y", kindFirst}, {"b z", kindLast}}},
		{"three", "a = b = c", []st{{"a", kindFirst}, {"b", kindBidir}, {"c", kindLast}}},
		{"any =word separates", "a =foo b", []st{{"a", kindFirst}, {"b", kindLast}}},
		{"ltr", "a =} b }= c", []st{{"a", kindFirst}, {"b", kindLeftToRight}, {"c", kindLast}}},
		{"rtl", "a ={ b {= c", []st{{"a", kindFirst}, {"b", kindRightToLeft}, {"c", kindLast}}},
		{"spec mixed", "a =} b }={ c {= d = e", []st{
			{"a", kindFirst}, {"b", kindLeftToRight}, {"c", kindRightToLeft}, {"d", kindBidir}, {"e", kindLast}}},
		{"two rtl chained", "a ={ b {={ c {= d", []st{
			{"a", kindFirst}, {"b", kindRightToLeft}, {"c", kindRightToLeft}, {"d", kindLast}}},
		{"= inside one-way section keeps it", "a =} b = c }= d", []st{
			{"a", kindFirst}, {"b", kindLeftToRight}, {"c", kindLeftToRight}, {"d", kindLast}}},
		{"new opener replaces pending", "a ={ b =} c }= d", []st{
			{"a", kindFirst}, {"b", kindRightToLeft}, {"c", kindLeftToRight}, {"d", kindLast}}},
		{"unmatched closer is an argument", "a = b }= c", []st{{"a", kindFirst}, {"b }= c", kindLast}}},
		{"wrong closer is an argument", "a =} b {= x }= c", []st{
			{"a", kindFirst}, {"b {= x", kindLeftToRight}, {"c", kindLast}}},
		{"closer with suffix", "a =} b }=zz c", []st{{"a", kindFirst}, {"b", kindLeftToRight}, {"c", kindLast}}},
		{"first stage opener word ignored as closer", "}= = b", []st{{"}=", kindFirst}, {"b", kindLast}}},
		{"empty arg is plain", "a  = b", []st{{"a ", kindFirst}, {"b", kindLast}}},

		{"empty", "", nil},
		{"one", "a", nil},
		{"two words", "a b", nil},
		{"no separator", "a b c", nil},
		{"separator last", "a =", nil},
		{"separator last 3", "a b =", nil},
		{"separator first", "= a b", nil},
		{"trailing separator", "a = b =", nil},
		{"doubled separator", "a = = b", nil},
		{"unclosed ltr", "a =} b", nil},
		{"unclosed ltr with mismatched closer", "a =} b {= c", nil},
		{"unclosed rtl with mismatched closer", "a ={ b }= c", nil},
		{"closer then nothing", "a =} b }=", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var words []string
			if tt.words != "" {
				words = strings.Split(tt.words, " ")
			}
			orig := slices.Clone(words)
			got, err := parseChain(words)
			if !slices.Equal(words, orig) {
				t.Errorf("parseChain modified its input: %q", words)
			}
			if tt.want == nil {
				if !errors.Is(err, errUsage) {
					t.Fatalf("parseChain(%q) = %v, %v; want usage error", tt.words, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseChain(%q): %v", tt.words, err)
			}
			var gotSt []st
			for _, s := range got {
				gotSt = append(gotSt, st{strings.Join(s.argv, " "), s.kind})
			}
			if !reflect.DeepEqual(gotSt, tt.want) {
				t.Errorf("parseChain(%q) = %v, want %v", tt.words, gotSt, tt.want)
			}
		})
	}
}

// flows describes the data paths of a chain as "X.out>Y.in" edges
// (out/in = stdout/stdin, aout/ain = the alternate fds), sorted.
func flows(t *testing.T, words string) []string {
	t.Helper()
	stages, err := parseChain(strings.Split(words, " "))
	if err != nil {
		t.Fatalf("parseChain(%q): %v", words, err)
	}
	n, w := plan(stages)
	readers := make(map[int]string)
	writers := make(map[int]string)
	uses := make(map[pipeEnd]int)
	add := func(e pipeEnd, who string) {
		if e.pipe < 0 {
			return
		}
		if e.pipe >= n {
			t.Fatalf("pipe %d out of range %d", e.pipe, n)
		}
		uses[e]++
		if e.write {
			writers[e.pipe] = who
		} else {
			readers[e.pipe] = who
		}
	}
	for k, s := range stages {
		name := s.argv[0]
		add(w[k].stdin, name+".in")
		add(w[k].stdout, name+".out")
		add(w[k].altIn, name+".ain")
		add(w[k].altOut, name+".aout")
		if (w[k].altIn.pipe >= 0) != (s.kind == kindBidir) || (w[k].altOut.pipe >= 0) != (s.kind == kindBidir) {
			t.Errorf("%s (kind %d): alternate fds %+v %+v", name, s.kind, w[k].altIn, w[k].altOut)
		}
	}
	for e, c := range uses {
		if c != 1 {
			t.Errorf("pipe end %+v handed to %d stages", e, c)
		}
	}
	var out []string
	for p := 0; p < n; p++ {
		if readers[p] == "" || writers[p] == "" {
			t.Errorf("pipe %d has reader %q writer %q", p, readers[p], writers[p])
		}
		out = append(out, writers[p]+">"+readers[p])
	}
	slices.Sort(out)
	return out
}

func TestPlanWiring(t *testing.T) {
	tests := []struct {
		words string
		want  []string
	}{
		{"a = b", []string{"a.out>b.in", "b.out>a.in"}},
		// spec: B fd3 <- C stdout, B fd4 -> C stdin
		{"a = b = c", []string{"a.out>b.in", "b.aout>c.in", "b.out>a.in", "c.out>b.ain"}},
		{"a = b = c = d", []string{"a.out>b.in", "b.aout>c.in", "b.out>a.in", "c.aout>d.in", "c.out>b.ain", "d.out>c.ain"}},
		// spec: a.stdout→b.stdin, b.stdout→c.stdin, c.stdout→a.stdin
		{"a =} b }= c", []string{"a.out>b.in", "b.out>c.in", "c.out>a.in"}},
		// spec: a.stdout→c.stdin, c.stdout→b.stdin, b.stdout→a.stdin
		{"a ={ b {= c", []string{"a.out>c.in", "b.out>a.in", "c.out>b.in"}},
		{"a =} b }={ c {= d = e", []string{
			"a.out>b.in", "b.out>d.in", "c.out>a.in", "d.aout>e.in", "d.out>c.in", "e.out>d.ain"}},
		{"a =} b = c }= d", []string{"a.out>b.in", "b.out>c.in", "c.out>d.in", "d.out>a.in"}},
	}
	for _, tt := range tests {
		if got := flows(t, tt.words); !slices.Equal(got, tt.want) {
			t.Errorf("%q:\n got %v\nwant %v", tt.words, got, tt.want)
		}
	}
}
