package main

import (
	"fmt"
	"log/syslog"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/govde/govde/actors/cable"
	"github.com/govde/govde/actors/vswitch"
	"github.com/govde/govde/internal/daemon"
	"github.com/govde/govde/internal/getopt"
	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/slirp"
	"github.com/govde/govde/transports/stream"
	"github.com/govde/govde/transports/vnl"
)

// slirpUsage is slirpvde's help for the subset govde implements, on
// stderr, exit 255.
const slirpUsage = `Usage: %s [OPTION]... [VNL]
  -s, --sock=VNL          network to join (default network); - = stdin/stdout
  -D, --dhcp[=ADDR]       enable the DHCP server (first lease ADDR, default net+15)
  -H, --host=ADDR[/BITS]  virtual host (gateway) address (default 10.0.2.2/24)
  -N, --dns=ADDR          DNS proxy address (default net+3)
  -L [LOCALPORT:]GUESTIP:GUESTPORT   TCP port forward (host 0.0.0.0:LOCALPORT)
  -U [LOCALPORT:]GUESTIP:GUESTPORT   UDP port forward
  -p, --pidfile=FILE      write our PID to FILE
  -d, --daemon            run in background
  -q, --quiet             no banner
  -m, --mod=MODE, -g, --group=GROUP, -P, --port=N   vde open args
  -h, --help              this help
(govde additions)
      --dnsupstream=HOST:PORT  resolver DNS queries go to (default: /etc/resolv.conf)
      --maxflows=N             concurrent NAT flows (default 1024)
`

var slirpOpts = []getopt.Option{
	{Short: 's', Long: []string{"sock", "socket", "vdesock", "unix"}, HasArg: true},
	{Short: 'D', Long: []string{"dhcp"}},
	{Short: 'H', Long: []string{"host", "network"}, HasArg: true},
	{Short: 'n', HasArg: true},
	{Short: 'N', Long: []string{"dns", "nameserver"}, HasArg: true},
	{Short: 'L', HasArg: true},
	{Short: 'U', HasArg: true},
	{Short: 'p', Long: []string{"pidfile"}, HasArg: true},
	{Short: 'd', Long: []string{"daemon"}},
	{Short: 'q', Long: []string{"quiet"}},
	{Short: 'm', Long: []string{"mod"}, HasArg: true},
	{Short: 'g', Long: []string{"group"}, HasArg: true},
	{Short: 'P', Long: []string{"port"}, HasArg: true},
	{Short: 'h', Long: []string{"help"}},
	{Long: []string{"dnsupstream"}, HasArg: true},
	{Long: []string{"maxflows"}, HasArg: true},
}

// slirpFlags is slirpvde's parsed command line.
type slirpFlags struct {
	sock, pidfile string
	daemon, quiet bool
	cfg           slirp.Config
	args          vnl.Args
}

// parseSlirpFlags parses like the original (getopt_long_only); bad
// options or values print one error line and/or the usage, status 255.
func parseSlirpFlags(prog string, argv []string) (*slirpFlags, int) {
	usage := func() int {
		fmt.Fprintf(os.Stderr, slirpUsage, prog)
		return 255
	}
	fail := func(format string, a ...any) (*slirpFlags, int) {
		fmt.Fprintf(os.Stderr, "%s: "+format+"\n", append([]any{prog}, a...)...)
		return nil, 255
	}
	f := &slirpFlags{args: vnl.Args{Mode: 0700, Descr: "slirpvde:"}}
	// --dhcp=ADDR (long form only) carries an optional argument, which the
	// getopt package does not model: take it out first.
	var av []string
	for _, a := range argv {
		if v, ok := strings.CutPrefix(a, "--dhcp="); ok {
			a = "--dhcp"
			addr, err := netip.ParseAddr(v)
			if err != nil || !addr.Is4() {
				return fail("bad DHCP start address %q", v)
			}
			f.cfg.DHCPStart = addr
		} else if v, ok := strings.CutPrefix(a, "-dhcp="); ok {
			a = "-dhcp"
			addr, err := netip.ParseAddr(v)
			if err != nil || !addr.Is4() {
				return fail("bad DHCP start address %q", v)
			}
			f.cfg.DHCPStart = addr
		}
		av = append(av, a)
	}
	bad := false
	set := getopt.Set{Opts: slirpOpts, LongOnly: true, Prog: prog, Warn: func(m string) { fmt.Fprintln(os.Stderr, m); bad = true }}
	opts, rest := set.Parse(av)
	if bad {
		return nil, usage()
	}
	for _, o := range opts {
		switch o.Key() {
		case "sock":
			f.sock = o.Arg
		case "dhcp":
			f.cfg.DHCP = true
		case "host", "n":
			p, err := netip.ParsePrefix(o.Arg)
			if err != nil {
				a, err2 := netip.ParseAddr(o.Arg)
				if err2 != nil {
					return fail("bad host address %q", o.Arg)
				}
				p = netip.PrefixFrom(a, 24)
			}
			f.cfg.Host = p
		case "dns":
			a, err := netip.ParseAddr(o.Arg)
			if err != nil {
				return fail("bad DNS address %q", o.Arg)
			}
			f.cfg.DNS = a
		case "L", "U":
			fw, err := slirp.ParseForward(o.Arg)
			if err != nil {
				return fail("%v", err)
			}
			if o.Key() == "L" {
				f.cfg.TCPForwards = append(f.cfg.TCPForwards, fw)
			} else {
				f.cfg.UDPForwards = append(f.cfg.UDPForwards, fw)
			}
		case "pidfile":
			f.pidfile = absPath(o.Arg)
		case "daemon":
			f.daemon = true
		case "quiet":
			f.quiet = true
		case "mod":
			if m, ok := cOctal(o.Arg); ok {
				f.args.Mode = os.FileMode(m)
			}
		case "group":
			f.args.Group = o.Arg
		case "port":
			f.args.Port = cAtoi(o.Arg)
		case "help":
			return nil, usage()
		case "dnsupstream":
			f.cfg.DNSUpstream = o.Arg
		case "maxflows":
			n := cAtoi(o.Arg)
			if n <= 0 {
				return fail("bad --maxflows %q", o.Arg)
			}
			f.cfg.MaxFlows = n
		}
	}
	if len(rest) > 0 {
		f.sock = rest[0]
	}
	return f, -1
}

// slirpBanner is the original's startup banner.
func slirpBanner(f *slirpFlags, e *slirp.Endpoint) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Starting slirpvde: virtual_host=%s\n", e.HostPrefix())
	fmt.Fprintf(&b, "                   DNS         =%s\n", e.DNSAddr())
	if f.cfg.DHCP {
		fmt.Fprintf(&b, "                   dhcp_start  =%s\n", e.DHCPStart())
	}
	sw := f.sock
	if sw == "" {
		sw = "default"
	}
	fmt.Fprintf(&b, "                   vde switch  =%s\n", sw)
	for _, fw := range f.cfg.TCPForwards {
		fmt.Fprintf(&b, "                   redir TCP   =%s\n", fw)
	}
	for _, fw := range f.cfg.UDPForwards {
		fmt.Fprintf(&b, "                   redir UDP   =%s\n", fw)
	}
	return b.String()
}

// runSlirp is slirpvde: a user-mode NAT router joined to a network until
// the network goes away (status 0) or a signal ends it.
func runSlirp(prog string, argv []string) int {
	f, code := parseSlirpFlags(prog, argv)
	if f == nil {
		return code
	}
	log := newLogger(prog)
	if f.sock == "-" {
		f.quiet = true
	}
	if f.daemon {
		if err := daemon.Start(); err != nil {
			log.Printf("daemon: %v", err)
			return 1
		}
		log.toSyslog(syslog.LOG_USER)
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
	f.cfg.Logf = log.Printf
	f.cfg.Describe = "slirpvde"
	sl, err := slirp.New(f.cfg)
	if err != nil {
		log.Printf("%s", strings.TrimPrefix(err.Error(), "slirp: "))
		return 1
	}
	var nw transports.Endpoint
	if f.sock == "-" {
		nw = stream.New(os.Stdin, os.Stdout, stream.Options{Describe: "stdin", MaxFrame: plugMaxFrame, Logf: log.Printf})
	} else if nw, err = openVNL(f.sock, f.args); err != nil {
		log.Printf("%s", err)
		sl.Close()
		return 1
	}
	if !f.quiet && !f.daemon {
		fmt.Fprint(os.Stderr, slirpBanner(f, sl))
	}
	if f.daemon {
		daemon.Chdir()
	}
	sys := vswitch.NewSystem()
	c := cable.New(sys, sl, nw, cable.Options{})
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	signal.Ignore(syscall.SIGPIPE)
	var caught os.Signal
	select {
	case <-c.Done():
	case caught = <-sigs:
	}
	nw.Close()
	sl.Close()
	pf.remove()
	if caught != nil {
		signal.Reset(caught)
		syscall.Kill(os.Getpid(), caught.(syscall.Signal))
		time.Sleep(time.Second)
		return 1
	}
	return 0
}
