package main

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/syslog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/govde/govde/actors/filter"
	"github.com/govde/govde/actors/vswitch"
	"github.com/govde/govde/internal/daemon"
	"github.com/govde/govde/internal/getopt"
	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/stream"
	"github.com/govde/govde/transports/vnl"
)

// wfUsage is the original's -h text, byte for byte.
const wfUsage = "Usage: %s OPTIONS\n" +
	"\t--help|-h\n" +
	"\t--rcfile|-f Configuration file\n" +
	"\t--loss|-l loss_percentage\n" +
	"\t--lostburst|-L lost_packet_burst_len\n" +
	"\t--delay|-d delay_ms\n" +
	"\t--dup|-D dup_percentage\n" +
	"\t--band|-b bandwidth(bytes/s)\n" +
	"\t--speed|-s interface_speed(bytes/s)\n" +
	"\t--chanbufsize|-c channel_bufsize\n" +
	"\t--noise|-n noise_bits/megabye\n" +
	"\t--mtu|-m mtu_size\n" +
	"\t--nofifo|-N\n" +
	"\t--mgmt|-M management_socket\n" +
	"\t--mgmtmode management_permission(octal)\n" +
	"\t--vde-plug plug1:plug2 | -v plug1:plug2\n" +
	"\t--daemon\n" +
	"\t--pidfile pidfile\n" +
	"\t--blink blinksocket\n" +
	"\t--blinkid blink_id_string\n"

// wfGovdeUsage lists what govde's wirefilter adds.
const wfGovdeUsage = "(govde additions)\n" +
	"\t--seed N  seed of the random sources: runs with the same seed and input behave the same\n" +
	"\tVNL_LR VNL_RL  as -v, for VNLs that contain ':'\n"

var wfOpts = []getopt.Option{
	{Short: 'h', Long: []string{"help"}},
	{Short: 'f', Long: []string{"rcfile"}, HasArg: true},
	{Short: 'l', Long: []string{"loss"}, HasArg: true},
	{Short: 'L', Long: []string{"lostburst"}, HasArg: true},
	{Short: 'd', Long: []string{"delay"}, HasArg: true},
	{Short: 'D', Long: []string{"dup"}, HasArg: true},
	{Short: 'b', Long: []string{"band"}, HasArg: true},
	{Short: 's', Long: []string{"speed"}, HasArg: true},
	{Short: 'c', Long: []string{"chanbufsize", "capacity"}, HasArg: true},
	{Short: 'n', Long: []string{"noise"}, HasArg: true},
	{Short: 'm', Long: []string{"mtu"}, HasArg: true},
	{Short: 'N', Long: []string{"nofifo"}},
	{Short: 'M', Long: []string{"mgmt"}, HasArg: true},
	{Long: []string{"mgmtmode"}, HasArg: true},
	{Short: 'v', Long: []string{"vde-plug"}, HasArg: true},
	{Long: []string{"daemon"}},
	{Long: []string{"pidfile"}, HasArg: true},
	{Long: []string{"blink"}, HasArg: true},
	{Long: []string{"blinkid"}, HasArg: true},
	{Long: []string{"seed"}, HasArg: true},
}

var wfParamOf = map[string]filter.Param{
	"loss": filter.Loss, "lostburst": filter.LostBurst, "delay": filter.Delay, "dup": filter.Dup,
	"band": filter.Band, "speed": filter.Speed, "chanbufsize": filter.ChanBufSize,
	"noise": filter.Noise, "mtu": filter.MTU,
}

// wfMaxFrame is the longest frame wirefilter moves on a stream: vdeplug's
// limit (the original's 1521 drops every jumbo frame).
const wfMaxFrame = 9236

type wfFlags struct {
	rcfile, mgmt, pidfile string
	blink, blinkID        string
	mgmtMode              os.FileMode
	plugs                 []string // -v L:R or the two positional VNLs
	daemon, noFifo        bool
	seed                  uint64
	seedSet               bool
	values                []wfValue
}

type wfValue struct {
	p   filter.Param
	opt string
	st  filter.Setting
}

func runWirefilter(prog string, argv []string) int {
	usage := func() int {
		fmt.Fprintf(os.Stderr, wfUsage, prog)
		fmt.Fprint(os.Stderr, wfGovdeUsage)
		return 1
	}
	f, code := parseWirefilterFlags(prog, argv, usage)
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
	}
	if !f.seedSet {
		var b [8]byte
		rand.Read(b[:])
		f.seed = binary.LittleEndian.Uint64(b[:])
	}

	var blink *filter.Blink
	if f.blink != "" {
		var err error
		if blink, err = filter.OpenBlink(f.blink, f.blinkID); err != nil {
			fmt.Fprintf(os.Stderr, "%s: blink: %v\n", prog, err)
			return 1
		}
		defer blink.Close()
	}

	// The endpoints: -v plugs, or stdin/stdout and the dpipe alternate fds.
	m, err := openWirefilterEnds(prog, f, log.Printf)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return usage()
	}

	shutdown := make(chan struct{})
	ctl := filter.NewControl(filter.ControlOptions{Dirs: m.dirs, NoFifo: f.noFifo, Seed: f.seed, Blink: blink,
		Logf: log.Printf, OnShutdown: func() { close(shutdown) }})
	defer ctl.Close()
	for _, v := range f.values {
		if err := ctl.Set(v.p, v.st); err != nil {
			m.close()
			fmt.Fprintf(os.Stderr, "%s: --%s: %s\n", prog, v.opt, wfStrerror(err))
			return 1
		}
	}
	if f.rcfile != "" {
		if err := ctl.RunScript(f.rcfile); err != nil {
			log.Printf("rcfile %s: %s", f.rcfile, wfStrerror(err))
		}
	}

	var mgmt *filter.MgmtServer
	if f.mgmt != "" {
		if mgmt, err = ctl.ListenMgmt(f.mgmt, f.mgmtMode); err != nil {
			m.close()
			fmt.Fprintf(os.Stderr, "%s: mgmt %s: %s\n", prog, f.mgmt, wfStrerror(err))
			return 1
		}
		defer mgmt.Close()
	}
	var pf *pidfile
	if f.pidfile != "" {
		if pf, err = writePidfile(f.pidfile, true); err != nil {
			m.close()
			log.Printf("Error in pidfile creation: %s", wfStrerror(err))
			return 1
		}
		defer pf.remove()
	}
	if f.daemon {
		daemon.Chdir()
	}

	sys := vswitch.NewSystem()
	opt := filter.Options{Seed: f.seed, Blink: blink, NoFifo: !ctl.Fifo()}
	opt.Params[filter.LR], opt.Params[filter.RL] = ctl.Params(filter.LR), ctl.Params(filter.RL)
	w, err := filter.New(sys, m.lr, m.rl, opt)
	if err != nil {
		m.close()
		fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
		return 1
	}
	if err := ctl.Attach(w); err != nil {
		log.Printf("%v", err)
	}
	switch {
	case len(f.plugs) == 2:
		log.Printf("bidirectional vdeplug filter L=%s R=%s starting...", orDefault(f.plugs[0]), orDefault(f.plugs[1]))
	case m.dirs == 2:
		log.Printf("bidirectional filter starting...")
	default:
		log.Printf("monodirectional filter starting...")
	}

	consoleDone := make(chan struct{})
	if m.console && !f.daemon {
		go func() {
			s := ctl.NewSession(os.Stdout)
			filter.Serve(s, os.Stdin)
			s.Close()
			close(consoleDone)
		}()
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	signal.Ignore(syscall.SIGPIPE, syscall.SIGALRM, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGPROF, syscall.SIGVTALRM, syscall.SIGIO, syscall.SIGPWR)
	var sig os.Signal
	select {
	case <-w.Done():
	case <-shutdown:
	case <-consoleDone:
	case sig = <-sigs:
	}
	done := make(chan struct{})
	go func() { w.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
	if err := w.Err(); err != nil && !errors.Is(err, syscall.EPIPE) && !errors.Is(err, os.ErrClosed) {
		log.Printf("%v", err)
	}
	if sig != nil && sig != syscall.SIGTERM {
		// Clean up, then die by the signal as the original does.
		ctl.Close()
		if mgmt != nil {
			mgmt.Close()
		}
		pf.remove()
		signal.Reset(sig)
		syscall.Kill(os.Getpid(), sig.(syscall.Signal))
		time.Sleep(time.Second)
	}
	return 0
}

func orDefault(s string) string {
	if s == "" {
		return "DEFAULT_SWITCH"
	}
	return s
}

// wfStrerror is glibc's text for the errno inside err, or err's text.
func wfStrerror(err error) string {
	var e syscall.Errno
	if errors.As(err, &e) {
		return filter.Strerror(int(e))
	}
	return err.Error()
}

// wfFiles closes several files.
type wfFiles []*os.File

func (fs wfFiles) Close() error {
	for _, f := range fs {
		f.Close()
	}
	return nil
}

func parseWirefilterFlags(prog string, argv []string, usage func() int) (*wfFlags, int) {
	f := &wfFlags{mgmtMode: 0700}
	bad := false
	set := getopt.Set{Opts: wfOpts, Prog: prog, LongOnly: true, Warn: func(m string) { fmt.Fprintln(os.Stderr, m); bad = true }}
	opts, rest := set.Parse(argv)
	if bad {
		return nil, usage()
	}
	for _, o := range opts {
		switch k := o.Key(); k {
		case "help":
			return nil, usage()
		case "rcfile":
			f.rcfile = o.Arg
		case "nofifo":
			f.noFifo = true
		case "mgmt":
			f.mgmt = o.Arg
		case "mgmtmode":
			v, err := strconv.ParseUint(o.Arg, 8, 32)
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s: invalid --mgmtmode %q (octal permissions)\n", prog, o.Arg)
				return nil, usage()
			}
			f.mgmtMode = os.FileMode(v)
		case "vde-plug":
			l, r, ok := strings.Cut(o.Arg, ":")
			if !ok {
				fmt.Fprint(os.Stderr, "Bad vde_plugs specification.\n")
				return nil, usage()
			}
			f.plugs = []string{l, r}
		case "daemon":
			f.daemon = true
		case "pidfile":
			f.pidfile = absPath(o.Arg)
		case "blink":
			f.blink = o.Arg
		case "blinkid":
			f.blinkID = o.Arg
		case "seed":
			v, err := strconv.ParseUint(o.Arg, 0, 64)
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s: invalid --seed %q\n", prog, o.Arg)
				return nil, usage()
			}
			f.seed, f.seedSet = v, true
		default:
			p, ok := wfParamOf[k]
			if !ok {
				return nil, usage()
			}
			st, err := filter.ParseValue(o.Arg)
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s: invalid value for --%s: %q (want [LR|RL]VALUE[+DELTA][K|M|G][U|N])\n", prog, k, o.Arg)
				return nil, 1
			}
			f.values = append(f.values, wfValue{p: p, opt: k, st: st})
		}
	}
	switch {
	case len(rest) == 2 && f.plugs == nil:
		f.plugs = rest
	case len(rest) > 0:
		return nil, usage()
	}
	if f.plugs != nil && f.plugs[0] == "-" && f.plugs[1] == "-" {
		f.plugs = nil // both on stdin/stdout: a plain stream filter
	}
	return f, -1
}

// wfEnds are the wire's endpoints and what the mode implies.
type wfEnds struct {
	lr, rl  filter.Path
	dirs    int
	console bool // both sides are plugs: stdin/stdout is the console
	eps     []transports.Endpoint
}

func (m *wfEnds) close() {
	for _, ep := range m.eps {
		ep.Close()
	}
}

func openWirefilterEnds(prog string, f *wfFlags, logf func(string, ...any)) (*wfEnds, error) {
	m := &wfEnds{dirs: 2}
	var plugs [2]transports.Endpoint
	if f.plugs != nil {
		for i, p := range f.plugs {
			if p == "-" {
				continue
			}
			ep, err := vnl.Open(p, vnl.Args{Descr: "vde_crosscable"})
			if err != nil {
				m.close()
				return nil, fmt.Errorf("vdeplug %s: %s", p, wfStrerror(err))
			}
			plugs[i] = ep
			m.eps = append(m.eps, ep)
		}
		if plugs[0] != nil && plugs[1] != nil {
			m.lr = filter.Path{From: plugs[0], To: plugs[1]}
			m.rl = filter.Path{From: plugs[1], To: plugs[0]}
			m.console = true
			return m, nil
		}
	}
	stdio, err := streamOn(prog, 0, 1, "stdin", "stdout", logf)
	if err != nil {
		m.close()
		return nil, err
	}
	m.eps = append(m.eps, stdio)
	switch {
	case plugs[1] != nil: // -v -:R
		m.lr = filter.Path{From: stdio, To: plugs[1]}
		m.rl = filter.Path{From: plugs[1], To: stdio}
		return m, nil
	case plugs[0] != nil: // -v L:-
		m.lr = filter.Path{From: plugs[0], To: stdio}
		m.rl = filter.Path{From: stdio, To: plugs[0]}
		return m, nil
	}
	in, okIn := altFd("ALTERNATE_STDIN")
	out, okOut := altFd("ALTERNATE_STDOUT")
	if !okIn {
		m.dirs = 1
		m.lr = filter.Path{From: stdio, To: stdio}
		return m, nil
	}
	if !okOut {
		m.close()
		return nil, fmt.Errorf("%s: Error on secondary out: %s", prog, "ALTERNATE_STDOUT is not an open descriptor")
	}
	alt, err := streamOn(prog, in, out, "secondary in", "secondary out", logf)
	if err != nil {
		m.close()
		return nil, err
	}
	m.eps = append(m.eps, alt)
	m.lr = filter.Path{From: stdio, To: alt}
	m.rl = filter.Path{From: alt, To: stdio}
	return m, nil
}

// altFd returns the descriptor named by a dpipe environment variable if it
// is set and names an open pipe or socket. dpipe exports the variables to
// every stage, so in a one-way stage (=} … }=) they name descriptors that
// were not passed; there the Go runtime may already hold those numbers
// (it keeps /sys/fs/cgroup files and epoll descriptors open), so anything
// but a pipe or socket means "no alternate descriptor" (monodirectional),
// where the original, whose numbers are free, fails on a non-pipe.
func altFd(env string) (int, bool) {
	s, ok := os.LookupEnv(env)
	if !ok {
		return 0, false
	}
	fd, err := strconv.Atoi(s)
	if err != nil || fd < 0 {
		return 0, false
	}
	var st syscall.Stat_t
	if syscall.Fstat(fd, &st) != nil {
		return 0, false
	}
	t := st.Mode & syscall.S_IFMT
	return fd, t == syscall.S_IFIFO || t == syscall.S_IFSOCK
}

// streamOn makes a framed stream endpoint reading fd in and writing fd out.
// Both must be pipes (FIFOs), as the original requires; govde also accepts
// stream sockets. The descriptors are made non-blocking so that closing the
// endpoint interrupts a pending read.
func streamOn(prog string, in, out int, inName, outName string, logf func(string, ...any)) (transports.Endpoint, error) {
	for _, c := range []struct {
		fd   int
		name string
	}{{in, inName}, {out, outName}} {
		var st syscall.Stat_t
		if err := syscall.Fstat(c.fd, &st); err != nil {
			return nil, fmt.Errorf("%s: Error on %s: %s", prog, c.name, wfStrerror(err))
		}
		if t := st.Mode & syscall.S_IFMT; t != syscall.S_IFIFO && t != syscall.S_IFSOCK {
			return nil, fmt.Errorf("%s: Error on %s: it is not a pipe", prog, c.name)
		}
		syscall.SetNonblock(c.fd, true)
	}
	r := os.NewFile(uintptr(in), inName)
	w := os.NewFile(uintptr(out), outName)
	return stream.New(r, w, stream.Options{Describe: inName, MaxFrame: wfMaxFrame, Logf: logf, Closer: wfFiles{r, w}}), nil
}
