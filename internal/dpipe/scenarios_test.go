package dpipe

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// scenario is a dpipe invocation with the outcome required from both
// implementations: exit status and stderr (where all commands report what
// they received).
type scenario struct {
	name  string
	args  []string
	want  int
	lines []string // expected stderr lines, in any order (nil: no output)
	exact string   // if set, the exact expected stderr instead of lines
}

// Commands used by the data-flow scenarios (only sh builtins, no timing).
var (
	// pingA sends "ping" right and reports the reply.
	pingA = sh(`echo ping; read -r x; echo "A:$x" >&2`, "A")
	// pongB answers "pong-<what it read>".
	pongB = sh(`read -r x; echo "pong-$x"; echo "B:$x" >&2`, "B")
	// srcA sends "x" and reports what comes back on its stdin.
	srcA = sh(`echo x; read -r r; echo "A:$r" >&2`, "A")
	// midAlt is a bidirectional middle stage: it forwards what it reads
	// from the left to the right neighbour on fd 4, and what it reads from
	// the right neighbour on fd 3 back to the left, tagging both with $0.
	midAlt = func(name string) []string {
		return sh(`read -r l; echo "$l-$0" >&4; read -r m <&3; echo "$m-$0"`, name)
	}
)

// filter reads one line and writes it tagged with name.
func filter(name string) []string { return sh(`read -r l; echo "$l-$0"`, name) }

func scenarios(t *testing.T) []scenario {
	dir := t.TempDir()
	noShebang := filepath.Join(dir, "noshebang")
	if err := os.WriteFile(noShebang, []byte("echo \"noexec:$1\" >&2\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	const missing = "govde-no-such-command"
	return []scenario{
		// data flow
		{name: "two stages both ways", args: chain(pingA, "=", pongB), lines: []string{"A:pong-ping", "B:ping"}},
		{name: "any =word is a separator", args: chain(pingA, "=sep", pongB), lines: []string{"A:pong-ping", "B:ping"}},
		{name: "three stages alternate fds", args: chain(srcA, "=",
			sh(`read -r x; echo "B:alt=$ALTERNATE_STDIN/$ALTERNATE_STDOUT" >&2; echo "$x-b" >&4; read -r y <&3; echo "$y-b"`, "B"),
			"=", filter("c")),
			lines: []string{"A:x-b-c-b", "B:alt=3/4"}},
		{name: "four stages", args: chain(srcA, "=", midAlt("b"), "=", midAlt("c"), "=", filter("d")),
			lines: []string{"A:x-b-c-d-c-b"}},
		{name: "left to right filter", args: chain(srcA, "=}", filter("b"), "}=", filter("c")), lines: []string{"A:x-b-c"}},
		{name: "right to left filter", args: chain(srcA, "={", filter("b"), "{=", filter("c")), lines: []string{"A:x-c-b"}},
		{name: "two right to left filters", args: chain(srcA, "={", filter("b"), "{={", filter("c"), "{=", filter("d")),
			lines: []string{"A:x-d-c-b"}},
		{name: "spec mixed chain", args: chain(srcA, "=}", filter("b"), "}={", filter("c"), "{=", midAlt("d"), "=", filter("e")),
			lines: []string{"A:x-b-d-e-d-c"}},
		{name: "plain = inside one-way section", args: chain(srcA, "=}", filter("b"), "=", filter("c"), "}=", filter("d")),
			lines: []string{"A:x-b-c-d"}},
		{name: "unmatched closer is an argument", args: chain(srcA, "=", sh(`read -r l; echo "$l-$1$2"`, "b", "}=", "Z")),
			lines: []string{"A:x-}=Z"}},
		{name: "execvp falls back to sh on ENOEXEC", args: chain("true", "=", noShebang, "arg1"), lines: []string{"noexec:arg1"}},

		// exit status
		{name: "true = false", args: chain("true", "=", "false"), want: 1},
		{name: "false = true", args: chain("false", "=", "true"), want: 0},
		{name: "last status", args: chain(sh("exit 3", "a"), "=", sh("exit 5", "b")), want: 5},
		{name: "missing last", args: chain("true", "=", missing), want: 127},
		{name: "missing first", args: chain(missing, "=", "true"), want: 0},
		{name: "missing middle", args: chain("true", "=", missing, "=", sh("exit 6", "c")), want: 6},
		{name: "directory as command", args: chain("true", "=", "/"), want: 127},
		{name: "nowrapproc status", args: chain("-n", "true", "=", sh("exit 4", "b")), want: 4},
		{name: "nowrapproc missing last", args: chain("-n", "true", "=", missing), want: 127},
		{name: "double dash", args: chain("--", "true", "=", "false"), want: 1},
		{name: "dash command", args: chain("-", "=", "true"), want: 0},
		{name: "long abbreviation", args: chain("--nowrapp", "true", "=", "false"), want: 1},
		{name: "unwritable pidfile ignored", args: chain("-p", "/nonexistent/dir/pid", "--pgrp=/nonexistent/pg", "true", "=", "false"), want: 1},

		// option diagnostics (then the chain runs)
		{name: "invalid option", args: chain("-x", "true", "=", sh("exit 4", "b")), want: 4,
			exact: "dpipe: invalid option -- 'x'\n"},
		{name: "W is invalid", args: chain("-W", "true", "=", "false"), want: 1, exact: "dpipe: invalid option -- 'W'\n"},
		{name: "unrecognized long", args: chain("--foo=bar", "true", "=", "false"), want: 1,
			exact: "dpipe: unrecognized option '--foo=bar'\n"},
		{name: "ambiguous long", args: chain("--p", "x", "true", "=", "false"), want: 1,
			exact: "dpipe: option '--p' is ambiguous; possibilities: '--pidfile' '--pgrpfile'\n"},
		{name: "ambiguous long n", args: chain("--n", "true", "=", "false"), want: 1,
			exact: "dpipe: option '--n' is ambiguous; possibilities: '--nowrapproc' '--nowrapnoclean'\n"},
		{name: "argument not allowed", args: chain("--daemon=1", "true", "=", "false"), want: 1,
			exact: "dpipe: option '--daemon' doesn't allow an argument\n"},
		{name: "missing short argument", args: []string{"-p"}, want: 0,
			exact: "dpipe: option requires an argument -- 'p'\n" + usageText},
		{name: "missing long argument", args: []string{"--pidfile"}, want: 0,
			exact: "dpipe: option '--pidfile' requires an argument\n" + usageText},

		// usage errors: usage text, status 0
		{name: "usage no args", args: nil, exact: usageText},
		{name: "usage one word", args: []string{"true"}, exact: usageText},
		{name: "usage no separator", args: chain("true", "true", "true"), exact: usageText},
		{name: "usage separator last", args: chain("true", "="), exact: usageText},
		{name: "usage separator first", args: chain("=", "true", "true"), exact: usageText},
		{name: "usage trailing separator", args: chain("true", "=", "true", "="), exact: usageText},
		{name: "usage empty command", args: chain("true", "=", "=", "true"), exact: usageText},
		{name: "usage unclosed", args: chain("true", "=}", "true"), exact: usageText},
		{name: "usage mismatched closer", args: chain("true", "=}", "true", "{=", "true"), exact: usageText},
		{name: "usage mismatched closer rtl", args: chain("true", "={", "true", "}=", "true"), exact: usageText},
	}
}

// checkScenario asserts a run's outcome against the scenario.
func checkScenario(t *testing.T, im impl, sc scenario, res result) {
	t.Helper()
	if res.status != sc.want {
		t.Errorf("%s: status %d, want %d (stderr %q)", im.name, res.status, sc.want, res.stderr)
	}
	if res.signal != 0 {
		t.Errorf("%s: killed by %v", im.name, res.signal)
	}
	if sc.exact != "" {
		if res.stderr != sc.exact {
			t.Errorf("%s: stderr\n%q\nwant\n%q", im.name, res.stderr, sc.exact)
		}
		return
	}
	want := slices.Clone(sc.lines)
	slices.Sort(want)
	if got := res.lines(); !slices.Equal(got, want) {
		t.Errorf("%s: stderr lines %q, want %q", im.name, got, want)
	}
}

func TestScenarios(t *testing.T) {
	for _, sc := range scenarios(t) {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			im := ours()
			checkScenario(t, im, sc, runImpl(t, im, runOpts{}, sc.args...))
		})
	}
}
