// Command vde is govde's single binary. It runs a tool chosen by its first
// argument (`vde switch …`, `vde plug …`, `vde dpipe …`) or, when invoked
// through a link with a classic name, by that name (`vde_switch`,
// `vde_plug`, `dpipe`), with the same flags as the VDE originals.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	_ "github.com/govde/govde/transports/all"
)

type tool struct {
	classic string
	run     func(prog string, args []string) int
	help    string
}

var tools = map[string]tool{
	"switch":     {"vde_switch", runSwitch, "a VDE switch (vde_switch)"},
	"plug":       {"vde_plug", runPlug, "connect two VNLs, or a VNL and stdin/stdout (vde_plug)"},
	"dpipe":      {"dpipe", runDpipe, "bidirectional pipe between commands (dpipe)"},
	"term":       {"vdeterm", runTerm, "terminal for a management console (vdeterm); -c CMD for scripts"},
	"unixterm":   {"unixterm", runUnixterm, "raw relay to a management console (unixterm)"},
	"plug2tap":   {"vde_plug2tap", runPlug2tap, "join a tap interface to a network (vde_plug2tap)"},
	"wirefilter": {"wirefilter", runWirefilter, "a cable that loses, delays, limits, duplicates or corrupts frames (wirefilter)"},
	"cryptcab":   {"vde_cryptcab", runCryptcab, "an encrypted, authenticated cable to another host (vde_cryptcab)"},
	"slirp":      {"slirpvde", runSlirp, "user-mode NAT router into the host's network (slirpvde)"},
}

func main() {
	os.Exit(dispatch(os.Args))
}

func dispatch(argv []string) int {
	name := filepath.Base(argv[0])
	for _, t := range tools {
		if name == t.classic {
			return t.run(name, argv[1:])
		}
	}
	if len(argv) > 1 {
		if t, ok := tools[argv[1]]; ok {
			return t.run(t.classic, argv[2:])
		}
		if t, ok := tools[strings.TrimPrefix(argv[1], "vde_")]; ok {
			return t.run(t.classic, argv[2:])
		}
	}
	fmt.Fprintf(os.Stderr, "Usage: %s TOOL [OPTIONS]\ngovde: Virtual Distributed Ethernet in Go.\n\nTools:\n", name)
	for _, k := range []string{"switch", "plug", "dpipe", "term", "unixterm", "wirefilter", "plug2tap", "cryptcab", "slirp"} {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", k, tools[k].help)
	}
	fmt.Fprintf(os.Stderr, "\nEach tool also runs under its classic name (a link named vde_switch, vde_plug, dpipe).\n")
	return 1
}
