package main

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/syslog"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"strconv"
	"strings"
	"syscall"

	"github.com/govde/govde/actors/cable"
	"github.com/govde/govde/actors/vswitch"
	"github.com/govde/govde/frames"
	"github.com/govde/govde/internal/daemon"
	"github.com/govde/govde/internal/getopt"
	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/compress"
	"github.com/govde/govde/transports/stream"
	"github.com/govde/govde/transports/vnl"
)

//go:embed plug_usage.txt
var plugUsage string

var plugOpts = []getopt.Option{
	{Short: 'c', HasArg: true},
	{Short: 'h', Long: []string{"help"}},
	{Short: 'p', Long: []string{"pidfile"}, HasArg: true},
	{Short: 'd', Long: []string{"daemon"}},
	{Short: 'm', Long: []string{"mod"}, HasArg: true},
	{Short: 'M', Long: []string{"mod2"}, HasArg: true},
	{Short: 'g', Long: []string{"group"}, HasArg: true},
	{Short: 'G', Long: []string{"group2"}, HasArg: true},
	{Short: 'l', Long: []string{"log"}},
	{Short: 'L', Long: []string{"iplog"}},
	{Short: 'D', Long: []string{"descr"}, HasArg: true},
	{Long: []string{"port"}, HasArg: true},
	{Long: []string{"port2"}, HasArg: true},
	{Long: []string{"maxframe"}, HasArg: true},
	{Long: []string{"compress"}, HasArg: true},
}

// plugMaxFrame is vdeplug's VDE_ETHBUFSIZE + 2: the longest frame a stream
// carries unless --maxframe allows jumbo frames.
const plugMaxFrame = 9236

type plugFlags struct {
	daemon, log, iplog bool
	pidfile, descr     string
	maxFrame           int
	maxFrameSet        bool
	compress           compress.Algorithm // 0: plain stream
	args               [2]vnl.Args
	vnls               []string
	command            []string
}

func parsePlugFlags(prog string, argv []string) (*plugFlags, int) {
	usage := func() int { fmt.Fprint(os.Stderr, plugUsage); return 255 }
	// everything after a lone "=" is the command, never plug options
	cmdAt := -1
	for i, a := range argv {
		if a == "=" {
			cmdAt = i
			break
		}
	}
	head := argv
	if cmdAt >= 0 {
		head = argv[:cmdAt]
	}
	f := &plugFlags{descr: "vdeplug:", maxFrame: plugMaxFrame}
	bad := false
	set := getopt.Set{Opts: plugOpts, Prog: prog, Warn: func(m string) { fmt.Fprintln(os.Stderr, m); bad = true }}
	opts, rest := set.Parse(head)
	if bad {
		return nil, usage()
	}
	for _, o := range opts {
		switch o.Key() {
		case "c":
			if o.Arg != "vde_plug" {
				fmt.Fprint(os.Stderr, "This is a Virtual Distributed Ethernet (vde) tunnel broker. \nThis is not a login shell, only vde_plug can be executed\n")
				return nil, 255
			}
			f.log = true
			if inGroup("vdeplug_iplog") {
				f.iplog = true
			}
		case "help":
			return nil, usage()
		case "pidfile":
			f.pidfile = absPath(o.Arg)
		case "daemon":
			f.daemon = true
		case "mod", "mod2":
			v, err := strconv.ParseUint(o.Arg, 8, 32)
			if err != nil {
				return nil, usage()
			}
			f.args[b2i(o.Key() == "mod2")].Mode = os.FileMode(v)
		case "group", "group2":
			f.args[b2i(o.Key() == "group2")].Group = o.Arg
		case "log":
			f.log = true
		case "iplog":
			f.log, f.iplog = true, true
		case "descr":
			if o.Arg != "" {
				f.descr = o.Arg
			}
		case "maxframe":
			n, err := strconv.Atoi(o.Arg)
			if err != nil || n < frames.MinFrame || n > frames.MaxJumbo {
				return nil, usage()
			}
			f.maxFrame, f.maxFrameSet = n, true
		case "compress":
			a, err := compress.ParseAlgorithm(o.Arg)
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s: --compress: %v\n", prog, err)
				return nil, usage()
			}
			f.compress = a
		case "port", "port2":
			n, err := strconv.Atoi(o.Arg)
			if err != nil || n <= 0 {
				return nil, usage()
			}
			f.args[b2i(o.Key() == "port2")].Port = n
		}
	}
	if cmdAt >= 0 {
		f.command = argv[cmdAt+1:]
		if len(f.command) == 0 || len(rest) > 1 {
			return nil, usage()
		}
	} else if len(rest) > 2 {
		return nil, usage()
	}
	if f.compress != 0 && cmdAt < 0 && len(rest) == 2 {
		fmt.Fprintf(os.Stderr, "%s: --compress applies to the stream forms (stdin/stdout or = command), not to a cable between two VNLs\n", prog)
		return nil, usage()
	}
	f.vnls = rest
	for i := range f.args {
		f.args[i].Descr = f.descr
		if f.maxFrameSet { // otherwise each module keeps its own default
			f.args[i].MaxFrame = f.maxFrame
		}
		if f.args[i].Mode == 0 {
			f.args[i].Mode = 0700
		}
	}
	return f, -1
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func inGroup(name string) bool {
	g, err := user.LookupGroup(name)
	if err != nil {
		return false
	}
	u, err := user.Current()
	if err != nil {
		return false
	}
	ids, _ := u.GroupIds()
	for _, id := range ids {
		if id == g.Gid {
			return true
		}
	}
	return false
}

func openVNL(s string, a vnl.Args) (transports.Endpoint, error) {
	ep, err := vnl.Open(s, a)
	if err != nil {
		var ke *vnl.KeyError
		if errors.As(err, &ke) { // libvdeplug names the key first, on its own line
			fmt.Fprintln(os.Stderr, ke.Error())
		}
		name := s
		if name == "" {
			name = "default switch"
		}
		return nil, fmt.Errorf("vde_open %s: %s", name, strerror(err))
	}
	return ep, nil
}

func runPlug(prog string, argv []string) int {
	if strings.HasPrefix(prog, "-") { // started as a login shell
		fmt.Fprint(os.Stderr, "This is a Virtual Distributed Ethernet (vde) tunnel broker. \nThis is not a login shell, only vde_plug can be executed\n")
		return 255
	}
	f, code := parsePlugFlags(prog, argv)
	if f == nil {
		return code
	}
	log := newLogger(prog)
	if f.daemon {
		if err := daemon.Start(); err != nil {
			log.Printf("daemon: %v", err)
			return 1
		}
		daemon.Chdir()
	}
	var pf *pidfile
	if f.pidfile != "" {
		var err error
		if pf, err = writePidfile(f.pidfile, false); err != nil {
			log.Printf("%s: %s", f.pidfile, strerror(err))
			return 1
		}
		defer pf.remove()
	}
	var audit *plugLog
	if f.log {
		audit = newPlugLog(f.iplog)
		audit.start()
		defer audit.stop()
	}
	first := ""
	if len(f.vnls) > 0 {
		first = f.vnls[0]
	}
	a, err := openVNL(first, f.args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var b transports.Endpoint
	var child *exec.Cmd
	switch {
	case f.command != nil:
		child, b, err = startCommand(f.command, f.maxFrame, log.Printf, f.compress)
		if err != nil {
			a.Close()
			fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
			return 1
		}
	case len(f.vnls) == 2:
		if b, err = openVNL(f.vnls[1], f.args[1]); err != nil {
			a.Close()
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	default:
		var r io.Reader = os.Stdin
		var w io.Writer = os.Stdout
		if f.compress != 0 {
			cs, err := compress.New(os.Stdin, os.Stdout, f.compress, compress.Options{})
			if err != nil {
				a.Close()
				fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
				return 1
			}
			r, w = cs, cs
		}
		b = stream.New(r, w, stream.Options{Describe: "stdin", MaxFrame: f.maxFrame, Logf: log.Printf})
	}
	sys := vswitch.NewSystem()
	opt := cable.Options{}
	if audit != nil && audit.iplog && len(f.vnls) < 2 {
		opt.OnFramesB = audit.frames
	}
	c := cable.New(sys, a, b, opt)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	signal.Ignore(syscall.SIGPIPE, syscall.SIGALRM, syscall.SIGUSR1, syscall.SIGUSR2)
	select {
	case <-c.Done():
	case <-sigs:
	}
	// The stdin reader may stay blocked in read(2): close what can be closed
	// and leave without waiting for it.
	a.Close()
	b.Close()
	if child != nil {
		child.Process.Signal(syscall.SIGTERM)
		child.Wait()
	}
	if err := c.Err(); err != nil && !errors.Is(err, os.ErrClosed) {
		log.Printf("%v", err)
		if errors.Is(err, compress.ErrHandshake) {
			return 1
		}
	}
	return 0
}

// startCommand runs argv with pipes on its stdin and stdout carrying the
// stream framing.
func startCommand(argv []string, maxFrame int, logf func(string, ...any), alg compress.Algorithm) (*exec.Cmd, transports.Endpoint, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	toChild, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	fromChild, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	var r io.Reader = fromChild
	var w io.Writer = toChild
	if alg != 0 {
		cs, err := compress.New(fromChild, toChild, alg, compress.Options{})
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			return nil, nil, err
		}
		r, w = cs, cs
	}
	ep := stream.New(r, w, stream.Options{Describe: strings.Join(argv, " "), MaxFrame: maxFrame,
		Logf: logf, Closer: closers{toChild, fromChild}})
	return cmd, ep, nil
}

type closers []interface{ Close() error }

func (c closers) Close() error {
	for _, x := range c {
		x.Close()
	}
	return nil
}

// plugLog is vde_plug's -l/-L syslog audit: START/STOP lines with the
// user and the remote address of an ssh cable, and with -L one line per new
// IP address seen in frames coming from the stream side.
type plugLog struct {
	out    func(string) // syslog, or a test's collector
	who    string
	realIP string
	iplog  bool
	seen   map[[17]byte]struct{}
}

func newPlugLog(iplog bool) *plugLog {
	l := &plugLog{iplog: iplog, seen: map[[17]byte]struct{}{}, realIP: "UNKNOWN_IP_ADDRESS", who: strconv.Itoa(os.Getuid())}
	if u, err := user.Current(); err == nil {
		l.who = u.Username
	}
	if ssh := strings.Fields(os.Getenv("SSH_CLIENT")); len(ssh) > 0 {
		l.realIP = ssh[0]
	}
	if w, err := syslog.New(syslog.LOG_USER|syslog.LOG_INFO, "vde_plug"); err == nil {
		l.out = func(s string) { w.Info(s) }
	}
	return l
}

func (l *plugLog) printf(format string, args ...any) {
	if l.out != nil {
		l.out(fmt.Sprintf(format, args...))
	}
}

func (l *plugLog) start() { l.printf("START: user %s IP %s", l.who, l.realIP) }
func (l *plugLog) stop()  { l.printf("STOP: user %s IP %s", l.who, l.realIP) }

// frames looks for new source IP addresses (through one 802.1Q tag).
func (l *plugLog) frames(b *frames.Batch) {
	for _, f := range b.Slice() {
		p := f.Bytes()
		vlan, off := 0, 14
		if frames.IsTagged(p) {
			vlan, off = int(frames.VID(p)), 18
		}
		if len(p) < off+40 && !(len(p) >= off+20 && p[off] == 0x45) {
			continue
		}
		var key [17]byte
		var text string
		switch {
		case p[off] == 0x45 && len(p) >= off+20:
			copy(key[:4], p[off+12:off+16])
			key[16] = 4
			if _, ok := l.seen[key]; ok {
				continue
			}
			text = fmt.Sprintf("VDE-IP4 %d.%d.%d.%d", p[off+12], p[off+13], p[off+14], p[off+15])
		case p[off]>>4 == 6 && len(p) >= off+40:
			copy(key[:16], p[off+8:off+24])
			key[16] = 6
			if _, ok := l.seen[key]; ok {
				continue
			}
			text = "VDE-IP6 " + ip6String(p[off+8:off+24])
		default:
			continue
		}
		l.seen[key] = struct{}{}
		l.printf("user %s Real-IP %s has got %s on vlan %d", l.who, l.realIP, text, vlan)
	}
}
