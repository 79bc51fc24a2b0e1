package main

import (
	"fmt"
	"os"

	"github.com/govde/govde/console/term"
	"github.com/govde/govde/internal/getopt"
)

// runTerm is vdeterm: `vdeterm SOCK` opens an interactive terminal on a
// management socket; `vde term -c CMD [-c CMD…] SOCK` runs commands once
// and prints their data (for scripts; exit 1 on the first error).
func runTerm(prog string, args []string) int {
	set := getopt.Set{Prog: prog, Opts: []getopt.Option{{Short: 'c', Long: []string{"command"}, HasArg: true}, {Short: 'h', Long: []string{"help"}}},
		Warn: func(m string) { fmt.Fprintln(os.Stderr, m) }}
	opts, rest := set.Parse(args)
	var cmds []string
	for _, o := range opts {
		if o.Key() == "help" {
			rest = nil
			break
		}
		cmds = append(cmds, o.Arg)
	}
	if len(rest) != 1 {
		fmt.Fprintf(os.Stderr, "Usage: %s [-c COMMAND]... MGMT_SOCKET\n", prog)
		return 1
	}
	var err error
	if len(cmds) > 0 {
		err = term.OneShot(rest[0], cmds, os.Stdout)
	} else {
		err = term.Interactive(rest[0], os.Stdin, os.Stdout)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
		return 1
	}
	return 0
}

// runUnixterm is unixterm: a raw relay between stdin/stdout and a console.
func runUnixterm(prog string, args []string) int {
	if len(args) != 1 {
		fmt.Fprintf(os.Stderr, "Usage: %s MGMT_SOCKET\n", prog)
		return 1
	}
	if err := term.Relay(args[0], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
		return 1
	}
	return 0
}
