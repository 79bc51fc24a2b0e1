package main

import (
	"errors"
	"fmt"
	"log/syslog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/govde/govde/actors/cable"
	"github.com/govde/govde/actors/vswitch"
	"github.com/govde/govde/frames"
	"github.com/govde/govde/internal/daemon"
	"github.com/govde/govde/internal/getopt"
	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/stream"
	"github.com/govde/govde/transports/tap"
	"github.com/govde/govde/transports/vnl"
)

// plug2tapUsage is vde_plug2tap's help (vde2 2.3.2), on stderr, exit 255.
const plug2tapUsage = `Usage: %s [OPTION]... tap_name

  -p, --port=portnum          Port number in the VDE switch
  -g, --group=group           Group for the socket
  -m, --mode=mode             Octal mode for the socket
  -s, --sock=socket           VDE switch control socket or dir
  -d, --daemon                Launch in background
  -P, --pidfile=pidfile       Create pidfile with our PID
  -h, --help                  This help
`

// plug2tapGovde lists what govde adds to the original flags.
const plug2tapGovde = `(govde additions)
      --maxframe=N            Largest frame moved (default: the tap's 65535, the network's own limit)
`

var plug2tapOpts = []getopt.Option{
	{Short: 's', Long: []string{"sock"}, HasArg: true},
	{Short: 'p', Long: []string{"port"}, HasArg: true},
	{Short: 'h', Long: []string{"help"}},
	{Short: 'm', Long: []string{"mod"}, HasArg: true},
	{Short: 'g', Long: []string{"group"}, HasArg: true},
	{Short: 'd', Long: []string{"daemon"}},
	{Short: 'P', Long: []string{"pidfile"}, HasArg: true},
	{Long: []string{"maxframe"}, HasArg: true},
}

// plug2tapFlags is vde_plug2tap's parsed command line.
type plug2tapFlags struct {
	sock, tap, pidfile string
	sockSet, daemon    bool
	maxFrame           int
	args               vnl.Args
}

// parsePlug2tapFlags parses like the original (getopt_long_only,
// "hdP:p:s:m:g:"): any bad option, -h, a port ≤ 0 or a missing tap name
// print the usage and give status 255.
func parsePlug2tapFlags(prog string, argv []string) (*plug2tapFlags, int) {
	usage := func() int {
		fmt.Fprintf(os.Stderr, plug2tapUsage, prog)
		fmt.Fprint(os.Stderr, plug2tapGovde)
		return 255
	}
	bad := false
	set := getopt.Set{Opts: plug2tapOpts, LongOnly: true, Prog: prog, Warn: func(m string) { fmt.Fprintln(os.Stderr, m); bad = true }}
	opts, rest := set.Parse(argv)
	if bad {
		return nil, usage()
	}
	f := &plug2tapFlags{args: vnl.Args{Mode: 0700, Descr: "vde_plug2tap:"}}
	for _, o := range opts {
		switch o.Key() {
		case "sock":
			f.sock, f.sockSet = o.Arg, true
		case "port":
			if f.args.Port = cAtoi(o.Arg); f.args.Port <= 0 {
				return nil, usage()
			}
		case "help":
			return nil, usage()
		case "mod":
			if m, ok := cOctal(o.Arg); ok {
				f.args.Mode = os.FileMode(m)
			}
		case "group":
			f.args.Group = o.Arg
		case "daemon":
			f.daemon = true
		case "pidfile":
			f.pidfile = absPath(o.Arg)
		case "maxframe":
			n, err := strconv.Atoi(o.Arg)
			if err != nil || n < frames.MinFrame || n > frames.MaxJumbo {
				return nil, usage()
			}
			f.maxFrame, f.args.MaxFrame = n, n
		}
	}
	if len(rest) == 0 {
		return nil, usage()
	}
	f.tap = rest[0]
	return f, -1
}

// cAtoi is C's atoi: leading blanks, a sign, digits; anything else ends it.
func cAtoi(s string) int {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	j := i
	if j < len(s) && (s[j] == '-' || s[j] == '+') {
		j++
	}
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	n, _ := strconv.Atoi(s[i:j])
	return n
}

// cOctal is sscanf("%o"): the leading octal digits, if any.
func cOctal(s string) (uint64, bool) {
	j := 0
	for j < len(s) && s[j] >= '0' && s[j] <= '7' {
		j++
	}
	if j == 0 {
		return 0, false
	}
	v, err := strconv.ParseUint(s[:j], 8, 32)
	return v, err == nil
}

// runPlug2tap is vde_plug2tap: it joins a tap interface to a network (a
// switch, any VNL, or with -s - the stream framing on stdin/stdout), moving
// frames both ways until the network or the tap goes away (status 0).
func runPlug2tap(prog string, argv []string) int {
	f, code := parsePlug2tapFlags(prog, argv)
	if f == nil {
		return code
	}
	log := newLogger(prog)
	if f.daemon {
		if err := daemon.Start(); err != nil {
			log.Printf("daemon: %v", err)
			return 1
		}
		log.toSyslog(syslog.LOG_USER)
		log.Printf("VDE_PLUG2TAP started")
	}
	var pf *pidfile
	if f.pidfile != "" {
		var err error
		if pf, err = writePidfile(f.pidfile, true); err != nil {
			log.Printf("Error in pidfile creation: %s", strerror(err))
			return 1
		}
		defer pf.remove()
	}
	t, err := tap.New(tap.Config{Name: f.tap, MaxFrame: f.maxFrame, Descr: f.tap})
	if err != nil {
		var te *tap.Error
		if errors.As(err, &te) && te.Op == tap.OpOpen {
			log.Printf("Failed to open /dev/net/tun %v", err)
		} else {
			log.Printf("TUNSETIFF failed %v", err)
		}
		return 1
	}
	var nw transports.Endpoint
	if f.sock == "-" {
		max := f.maxFrame
		if max == 0 {
			max = plugMaxFrame
		}
		nw = stream.New(os.Stdin, os.Stdout, stream.Options{Describe: "stdin", MaxFrame: max, Logf: log.Printf})
	} else {
		if nw, err = vnl.Open(f.sock, f.args); err != nil {
			name := f.sock
			if !f.sockSet {
				name = "DEF_SWITCH"
			}
			log.Printf("vde_open %s: %s", name, strerror(err))
			t.Close()
			return 1
		}
	}
	if f.daemon {
		daemon.Chdir()
	}
	sys := vswitch.NewSystem()
	c := cable.New(sys, t, nw, cable.Options{})
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	signal.Ignore(syscall.SIGPIPE, syscall.SIGALRM, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGPROF,
		syscall.SIGVTALRM, syscall.SIGIO, syscall.SIGPWR, syscall.SIGSTKFLT)
	var caught os.Signal
	select {
	case <-c.Done():
	case caught = <-sigs:
	}
	t.Close()
	nw.Close()
	pf.remove()
	if caught != nil {
		// As the original: clean up, then die of the signal.
		signal.Reset(caught)
		syscall.Kill(os.Getpid(), caught.(syscall.Signal))
		time.Sleep(time.Second)
		return 1
	}
	return 0
}
