package dpipe

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestCompareWithReal runs the real /usr/bin/dpipe (never with -h, see
// checkNoHelp) and ours on the same chains and requires the same exit
// status and the same data flow (what every command reports on stderr),
// plus the same process-level behaviour. Without the real dpipe the test
// is skipped, or fails when CI=true.
func TestCompareWithReal(t *testing.T) {
	if !haveReal(t) {
		return
	}
	t.Run("scenarios", func(t *testing.T) {
		for _, sc := range scenarios(t) {
			t.Run(sc.name, func(t *testing.T) {
				t.Parallel()
				real := runImpl(t, realImpl(), runOpts{}, sc.args...)
				our := runImpl(t, ours(), runOpts{}, sc.args...)
				checkScenario(t, realImpl(), sc, real)
				if real.status != our.status || !slices.Equal(real.lines(), our.lines()) {
					t.Errorf("real: %d %q\nours: %d %q", real.status, real.lines(), our.status, our.lines())
				}
			})
		}
	})
	t.Run("behaviours", func(t *testing.T) {
		for _, b := range behaviours() {
			t.Run(b.name, func(t *testing.T) {
				t.Parallel()
				b.fn(t, realImpl())
			})
		}
	})
	t.Run("layout identical", func(t *testing.T) {
		t.Parallel()
		st := func(name string) []string { return sh(fdsInfo, name) }
		args := chain(st("A"), "=", st("B"), "=", st("C"), "=}", st("D"), "}=", st("E"))
		real := runImpl(t, realImpl(), runOpts{}, args...)
		our := runImpl(t, ours(), runOpts{}, args...)
		// The Go runtime cannot ignore SIGPROF and SIGSTKFLT (see
		// ignoredSignals): mask them out of SigIgn.
		mask := func(lines []string) []string {
			var out []string
			for _, l := range lines {
				head, hex, _ := strings.Cut(l, "ign=")
				v, err := strconv.ParseUint(hex, 16, 64)
				if err != nil {
					t.Fatalf("bad report %q", l)
				}
				v &^= 1<<(27-1) | 1<<(16-1)
				out = append(out, head+"ign="+strconv.FormatUint(v, 16))
			}
			return out
		}
		if r, o := mask(real.lines()), mask(our.lines()); !slices.Equal(r, o) || len(r) != 5 {
			t.Errorf("real:\n%s\nours:\n%s", strings.Join(r, "\n"), strings.Join(o, "\n"))
		}
	})
	t.Run("known difference: last command killed by a signal", func(t *testing.T) {
		t.Parallel()
		args := chain("true", "=", sh("kill -9 $$", "last"))
		if res := runImpl(t, realImpl(), runOpts{}, args...); res.status != 0 {
			t.Errorf("real: status %d, expected 0 (WEXITSTATUS of a signalled child)", res.status)
		}
		if res := runImpl(t, ours(), runOpts{}, args...); res.status != 128+9 {
			t.Errorf("ours: status %d, want 137", res.status)
		}
	})
}
