package dpipe

import (
	"fmt"
	"io"
	"strings"
)

// progName is the program name used in diagnostics and in the usage text.
// The original prints its argv[0]; Main does not receive argv[0], so the
// canonical name is used.
const progName = "dpipe"

// usageText is the original's usage message, byte for byte (including the
// "[OPTIONS}" typo and the "write process group id to PIDFILE" wording).
const usageText = "Usage:\n" +
	"  " + progName + " [OPTIONS} cmd1 [arg1...] = cmd2 [arg2...] [ = cmd3 [arg3...] ]\n" +
	"    using: ... =} cmd [arg] }= ...\n" +
	"       or: ... ={ cmd [arg] {= ...\n" +
	"    instead of ... = cmd [arg] = ...\n" +
	"  means that the intermediate command processes data flowing in one direction only\n" +
	"  (left to right, or right to left respectively as indicated by the brackets)\n" +
	"OPTIONS:\n" +
	"  -p PIDFILE | --pidfile PIDFILE     write process id to PIDFILE\n" +
	"  -P PGRPFILE | --pgrpfile PGRPFILE  write process group id to PIDFILE\n" +
	"  -d | --daemon                      daemonize the process group\n" +
	"  -n | --nowrapproc                  do not create the dpipe parent process\n" +
	"  -N | --nowrapnoclean               -n and do not remove pid/pgrp file\n" +
	"  -h | --help                        show this short summary\n"

// options is the result of command-line option parsing.
type options struct {
	daemon   bool   // -d, --daemon
	noWrap   bool   // -n, --nowrapproc (also set by -N)
	noClean  bool   // -N, --nowrapnoclean
	pidfile  string // -p, --pidfile ("" = none)
	pgrpfile string // -P, --pgrpfile ("" = none)
	hasPid   bool   // -p given (an empty argument still counts, like the original)
	hasPgrp  bool   // -P given
	help     bool   // -h, --help seen: parsing stopped there
}

// cleanupNeeded mirrors the original's CLEANUP_NEEDED flag: a pid or pgrp
// file was requested and -N was not given.
func (o *options) cleanupNeeded() bool {
	return (o.hasPid || o.hasPgrp) && !o.noClean
}

// longOption describes one entry of the original's long_options table.
type longOption struct {
	name   string
	hasArg bool
	short  byte
}

// longOptions is in the original's table order, which matters for the
// order of the candidates listed in "is ambiguous" diagnostics.
var longOptions = []longOption{
	{"nowrapproc", false, 'n'},
	{"nowrapnoclean", false, 'N'},
	{"pidfile", true, 'p'},
	{"pgrpfile", true, 'P'},
	{"daemon", false, 'd'},
	{"help", false, 'h'},
}

// shortOptions is the original's optstring without the leading '+':
// letters followed by ':' take an argument.
const shortOptions = "dp:P:hnN"

// parseOptions emulates glibc getopt_long(argc, argv, "+dp:P:hnN", ...)
// followed by the original's option switch. It stops at the first
// non-option word (the '+' in the optstring), after "--", or when -h/--help
// is seen (o.help set). Diagnostics use glibc's exact wording; like the
// original, an erroneous option ('?' from getopt) is reported and otherwise
// ignored. It returns the options and the remaining words (the command chain).
func parseOptions(args []string, stderr io.Writer) (o options, rest []string) {
	i := 0
	for i < len(args) {
		arg := args[i]
		if arg == "--" {
			i++
			break
		}
		if len(arg) < 2 || arg[0] != '-' {
			break // first non-option: stop ("+" mode, no permutation)
		}
		i++
		if strings.HasPrefix(arg, "--") {
			c, optarg, ok := parseLong(arg[2:], args, &i, stderr)
			if ok && o.apply(c, optarg) {
				return o, nil
			}
			continue
		}
		// A cluster of short options: "-dn", "-pFILE", "-dp FILE".
		for j := 1; j < len(arg); j++ {
			c := arg[j]
			k := strings.IndexByte(shortOptions, c)
			if k < 0 || c == ':' {
				fmt.Fprintf(stderr, "%s: invalid option -- '%c'\n", progName, c)
				continue
			}
			if k+1 < len(shortOptions) && shortOptions[k+1] == ':' {
				var optarg string
				switch {
				case j+1 < len(arg):
					optarg = arg[j+1:]
				case i < len(args):
					optarg = args[i]
					i++
				default:
					fmt.Fprintf(stderr, "%s: option requires an argument -- '%c'\n", progName, c)
					j = len(arg)
					continue
				}
				if o.apply(c, optarg) {
					return o, nil
				}
				break // the rest of the cluster was the argument
			}
			if o.apply(c, "") {
				return o, nil
			}
		}
	}
	return o, args[i:]
}

// parseLong handles one "--name[=value]" word (body is the text after
// "--"), possibly consuming the next word as the argument. It reports ok
// false (after printing glibc's diagnostic) when getopt would return '?'.
func parseLong(body string, args []string, i *int, stderr io.Writer) (c byte, optarg string, ok bool) {
	name, value, hasValue := strings.Cut(body, "=")
	var found *longOption
	var candidates []*longOption
	for k := range longOptions {
		lo := &longOptions[k]
		if lo.name == name {
			found = lo
			candidates = nil
			break
		}
		if strings.HasPrefix(lo.name, name) {
			candidates = append(candidates, lo)
		}
	}
	if found == nil {
		switch len(candidates) {
		case 0:
			fmt.Fprintf(stderr, "%s: unrecognized option '--%s'\n", progName, body)
			return 0, "", false
		case 1:
			found = candidates[0]
		default:
			// All entries differ in val, so any two prefix matches are
			// ambiguous for glibc.
			var b strings.Builder
			fmt.Fprintf(&b, "%s: option '--%s' is ambiguous; possibilities:", progName, body)
			for _, lo := range candidates {
				fmt.Fprintf(&b, " '--%s'", lo.name)
			}
			b.WriteString("\n")
			io.WriteString(stderr, b.String())
			return 0, "", false
		}
	}
	if !found.hasArg {
		if hasValue {
			fmt.Fprintf(stderr, "%s: option '--%s' doesn't allow an argument\n", progName, found.name)
			return 0, "", false
		}
		return found.short, "", true
	}
	if hasValue {
		return found.short, value, true
	}
	if *i < len(args) {
		optarg = args[*i]
		*i++
		return found.short, optarg, true
	}
	fmt.Fprintf(stderr, "%s: option '--%s' requires an argument\n", progName, found.name)
	return 0, "", false
}

// apply records one recognised option, like the original's switch. It
// returns true for -h/--help, which ends parsing.
func (o *options) apply(c byte, optarg string) (help bool) {
	switch c {
	case 'p':
		o.pidfile, o.hasPid = optarg, true
	case 'P':
		o.pgrpfile, o.hasPgrp = optarg, true
	case 'd':
		o.daemon = true
	case 'n':
		o.noWrap = true
	case 'N':
		o.noWrap, o.noClean = true, true
	case 'h':
		o.help = true
		return true
	}
	return false
}
