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
	"github.com/govde/govde/console"
	"github.com/govde/govde/internal/daemon"
	"github.com/govde/govde/internal/getopt"
	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/dgram"
	"github.com/govde/govde/transports/slirp"
	"github.com/govde/govde/transports/stream"
	"github.com/govde/govde/transports/vnl"
)

// slirpUsage is slirpvde's help for the subset govde implements, on
// stderr, exit 255.
const slirpUsage = `Usage: %s [OPTION]... [VNL]
  -s, --sock=VNL          network to join (default network); - = stdin/stdout
  -D, --dhcp[=ADDR]       enable the DHCP servers: DHCPv4 (first lease ADDR, default
                          net+15) and DHCPv6 (information, addresses from prefix::15)
  -H, --host=ADDR[/BITS]  virtual host (gateway) address, IPv4 (default 10.0.2.2/24)
                          or IPv6 (default fd00::2/64); give both with two -H
  -N, --dns=ADDR          DNS proxy address, IPv4 (default net+3) or IPv6 (prefix::3)
  -r, --radvd[=PREFIX]    send IPv6 router advertisements (SLAAC) for PREFIX/64
                          (default fd00::/64, gateway prefix::2)
  -L [LOCALPORT:]GUESTIP:GUESTPORT   TCP port forward (host 0.0.0.0:LOCALPORT)
  -U [LOCALPORT:]GUESTIP:GUESTPORT   UDP port forward
                          (IPv6 in brackets: [HOSTADDR]:PORT:[GUESTIP]:PORT)
  -M, --mgmt=SOCK         management console socket (fwd/add, fwd/del, ...)
      --mgmtmode=MODE     its permissions (octal, default 600)
  -p, --pidfile=FILE      write our PID to FILE
  -d, --daemon            run in background
  -q, --quiet             no banner
  -m, --mod=MODE, -g, --group=GROUP, -P, --port=N   vde open args
  -h, --help              this help
(govde additions)
      --dnsupstream=HOST:PORT  resolver DNS queries go to (default: /etc/resolv.conf)
      --maxflows=N             concurrent NAT flows (default 1024)
      --mtu=N                  the router's MTU (default 1500, up to 65521; the
                               switch needs --maxframe N+14 or more)
The console is also on stdin when it is a terminal.
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
	{Long: []string{"mtu"}, HasArg: true},
	{Short: 'r', Long: []string{"radvd"}},
	{Short: 'M', Long: []string{"mgmt"}, HasArg: true},
	{Long: []string{"mgmtmode"}, HasArg: true},
}

// slirpFlags is slirpvde's parsed command line.
type slirpFlags struct {
	sock, pidfile string
	daemon, quiet bool
	mgmt          string
	mgmtMode      int
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
	f := &slirpFlags{args: vnl.Args{Mode: 0700, Descr: "slirpvde:"}, mgmtMode: 0600}
	// --dhcp=ADDR and --radvd=PREFIX (long forms only) carry an optional
	// argument, which the getopt package does not model: take it out first.
	var av []string
	for _, a := range argv {
		if v, ok := cutEither(a, "--radvd=", "-radvd="); ok {
			a = "--radvd"
			p, err := netip.ParsePrefix(v)
			if err != nil {
				if addr, err2 := netip.ParseAddr(v); err2 == nil {
					p, err = netip.PrefixFrom(addr, 64), nil
				}
			}
			if err != nil || !p.Addr().Is6() || p.Bits() != 64 {
				return fail("bad router advertisement prefix %q: an IPv6 /64", v)
			}
			f.cfg.Host6 = netip.PrefixFrom(p.Masked().Addr(), 64)
		} else if v, ok := strings.CutPrefix(a, "--dhcp="); ok {
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
			p, err := slirp.ParseHost(o.Arg)
			if err != nil {
				return fail("bad host address %q", o.Arg)
			}
			if p.Addr().Is6() {
				f.cfg.Host6 = p
			} else {
				f.cfg.Host = p
			}
		case "dns":
			a, err := netip.ParseAddr(o.Arg)
			if err != nil {
				return fail("bad DNS address %q", o.Arg)
			}
			if a.Is6() {
				f.cfg.DNS6 = a
			} else {
				f.cfg.DNS = a
			}
		case "radvd":
			f.cfg.RA = true
		case "mgmt":
			f.mgmt = absPath(o.Arg)
		case "mgmtmode":
			f.mgmtMode = octal(o.Arg)
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
		case "mtu":
			n := cAtoi(o.Arg)
			if n < slirp.MinMTU || n > slirp.MaxMTU {
				return fail("bad --mtu %q (%d..%d)", o.Arg, slirp.MinMTU, slirp.MaxMTU)
			}
			f.cfg.MTU = n
			// frames of MTU+14 bytes (and a VLAN tag) to and from the switch
			f.args.MaxFrame = max(n+18, dgram.DefaultMaxFrame)
		}
	}
	if len(rest) > 0 {
		f.sock = rest[0]
	}
	return f, -1
}

// cutEither is strings.CutPrefix with two prefixes.
func cutEither(s, p1, p2 string) (string, bool) {
	if v, ok := strings.CutPrefix(s, p1); ok {
		return v, true
	}
	return strings.CutPrefix(s, p2)
}

// slirpBanner is the original's startup banner, then govde's IPv6 and
// console lines.
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
	fmt.Fprintf(&b, "                   host6       =%s\n", e.Host6Prefix())
	fmt.Fprintf(&b, "                   DNS6        =%s\n", e.DNS6Addr())
	if f.cfg.DHCP {
		fmt.Fprintf(&b, "                   dhcp6_start =%s\n", e.DHCP6Start())
	}
	if f.cfg.RA {
		fmt.Fprintf(&b, "                   radvd       =%s\n", e.Host6Prefix().Masked())
	}
	if f.mgmt != "" {
		fmt.Fprintf(&b, "                   mgmt        =%s\n", f.mgmt)
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
	shutdown := make(chan struct{}, 1)
	stopConsole := func() {}
	reg := sl.Console()
	if f.mgmt != "" {
		ms, err := console.Listen(f.mgmt, os.FileMode(f.mgmtMode), -1, reg, nil, func() { shutdown <- struct{}{} })
		if err != nil {
			log.Printf("mgmt socket %s: %v", f.mgmt, err)
			nw.Close()
			sl.Close()
			return 1
		}
		stopConsole = ms.Close
	}
	if !f.daemon && f.sock != "-" && isTTY(0) {
		go func() {
			prompt := func() { os.Stdin.WriteString("vde$ ") }
			if console.ServeStdin(reg, nil, os.Stdin, os.Stdout, prompt) == console.Continue {
				log.Printf("EOF on stdin, cleaning up and exiting")
			}
			shutdown <- struct{}{}
		}()
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	signal.Ignore(syscall.SIGPIPE)
	var caught os.Signal
	select {
	case <-c.Done():
	case <-shutdown:
	case caught = <-sigs:
	}
	stopConsole()
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
