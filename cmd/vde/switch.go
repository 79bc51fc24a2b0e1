package main

import (
	"crypto/rand"
	_ "embed"
	"fmt"
	"io"
	"log/syslog"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/govde/govde/actors/fabric"
	"github.com/govde/govde/actors/mgmt"
	"github.com/govde/govde/actors/vswitch"
	"github.com/govde/govde/console"
	"github.com/govde/govde/frames"
	"github.com/govde/govde/internal/daemon"
	"github.com/govde/govde/internal/getopt"
	"github.com/govde/govde/transports/vde2"
)

//go:embed switch_usage.txt
var switchUsage string

const switchVersion = `VDE 2.3.2
Copyright 2003,...,2011 Renzo Davoli
some code from uml_switch Copyright (C) 2001, 2002 Jeff Dike and others
VDE comes with NO WARRANTY, to the extent permitted by law.
You may redistribute copies of VDE under the terms of the
GNU General Public License v2.
For more information about these matters, see the files
named COPYING.
`

// govdeSwitchUsage lists what govde's switch adds to the original flags.
const govdeSwitchUsage = `(govde additions)
      --maxframe N           Largest frame accepted from a client (default 1518; up to 65535 for jumbo frames)
      --nostdin              Do not use stdin as a console (as upstream vde_switch)
`

var switchOpts = []getopt.Option{
	{Short: 'h', Long: []string{"help"}},
	{Short: 'v', Long: []string{"version"}},
	{Short: 'n', Long: []string{"numports"}, HasArg: true},
	{Short: 'x', Long: []string{"hub"}},
	{Short: 'F', Long: []string{"fstp"}},
	{Long: []string{"macaddr"}, HasArg: true},
	{Long: []string{"priority"}, HasArg: true},
	{Long: []string{"hashsize"}, HasArg: true},
	{Short: 's', Long: []string{"sock", "vdesock", "unix"}, HasArg: true},
	{Short: 'm', Long: []string{"mode", "mod"}, HasArg: true},
	{Long: []string{"dirmode"}, HasArg: true},
	{Short: 'g', Long: []string{"group"}, HasArg: true},
	{Short: 'd', Long: []string{"daemon"}},
	{Short: 'p', Long: []string{"pidfile"}, HasArg: true},
	{Short: 'f', Long: []string{"rcfile"}, HasArg: true},
	{Short: 'M', Long: []string{"mgmt"}, HasArg: true},
	{Long: []string{"mgmtmode"}, HasArg: true},
	{Long: []string{"mgmtgroup"}, HasArg: true},
	{Short: 'D', Long: []string{"debugclients"}, HasArg: true},
	{Short: 't', Long: []string{"tap"}, HasArg: true},
	{Long: []string{"maxframe"}, HasArg: true},
	{Long: []string{"nostdin"}},
}

// switchFlags is the parsed command line of vde_switch.
type switchFlags struct {
	numPorts, hashSize, maxFrame int
	hub, fstp, daemon, noStdin   bool
	mac                          frames.MAC
	macSet                       bool
	priority                     int
	sock, pidfile, rcfile, mgmt  string
	mode, dirmode, mgmtMode      int
	modeSet, dirSet              bool
	group, mgmtGroup             int
	taps                         []string
}

// cInt parses like sscanf("%i"): 0x hex, leading 0 octal, else decimal;
// garbage gives 0.
func cInt(s string) int {
	s = strings.TrimSpace(s)
	end := 0
	for end < len(s) && (s[end] == '-' || s[end] == '+' || s[end] == 'x' || s[end] == 'X' ||
		(s[end] >= '0' && s[end] <= '9') || (s[end] >= 'a' && s[end] <= 'f') || (s[end] >= 'A' && s[end] <= 'F')) {
		end++
	}
	for ; end > 0; end-- {
		if v, err := strconv.ParseInt(s[:end], 0, 64); err == nil {
			return int(v)
		}
	}
	return 0
}

func octal(s string) int {
	v, _ := strconv.ParseUint(strings.TrimSpace(s), 8, 32)
	return int(v)
}

func lookupGroup(name string) (int, bool) {
	if g, err := user.LookupGroup(name); err == nil {
		id, _ := strconv.Atoi(g.Gid)
		return id, true
	}
	if id, err := strconv.Atoi(name); err == nil {
		return id, true
	}
	return -1, false
}

// parseSwitchFlags returns the flags, or an exit status when the program
// must stop (help, version, bad arguments).
func parseSwitchFlags(prog string, args []string, stdout, stderr io.Writer) (*switchFlags, int) {
	f := &switchFlags{numPorts: 32, hashSize: 128, priority: 0x8000, group: -1, mgmtGroup: -1, mgmtMode: 0600}
	set := getopt.Set{Opts: switchOpts, LongOnly: true, Prog: prog, Warn: func(m string) { fmt.Fprintln(stderr, m) }}
	opts, rest := set.Parse(args)
	usage := func() int {
		fmt.Fprint(stdout, strings.Replace(switchUsage, "\nReport bugs", "\n"+govdeSwitchUsage+"\nReport bugs", 1))
		return 1
	}
	if len(rest) > 0 {
		return nil, usage()
	}
	for _, o := range opts {
		switch o.Key() {
		case "help":
			return nil, usage()
		case "version":
			fmt.Fprint(stdout, switchVersion)
			return nil, 0
		case "numports":
			f.numPorts = cInt(o.Arg)
		case "hub":
			f.hub, f.fstp = true, false
		case "fstp":
			if !f.hub {
				f.fstp = true
			}
		case "macaddr":
			m, err := frames.ParseMAC(o.Arg)
			if err != nil {
				fmt.Fprintf(stderr, "%s: Invalid MAC Addr %s\n", prog, o.Arg)
				return nil, usage()
			}
			f.mac, f.macSet = m, true
		case "priority":
			f.priority = cInt(o.Arg) & 0xffff
		case "hashsize":
			f.hashSize = cInt(o.Arg)
		case "sock":
			f.sock = o.Arg
		case "mode":
			f.mode, f.modeSet = octal(o.Arg), true
		case "dirmode":
			f.dirmode, f.dirSet = octal(o.Arg), true
		case "group", "mgmtgroup":
			g, ok := lookupGroup(o.Arg)
			if !ok {
				fmt.Fprintf(stderr, "%s: No such group '%s'\n", prog, o.Arg)
				return nil, 1
			}
			if o.Key() == "group" {
				f.group = g
			} else {
				f.mgmtGroup = g
			}
		case "daemon":
			f.daemon = true
		case "pidfile":
			f.pidfile = absPath(o.Arg)
		case "rcfile":
			f.rcfile = o.Arg
		case "mgmt":
			f.mgmt = o.Arg
		case "mgmtmode":
			f.mgmtMode = octal(o.Arg)
		case "debugclients": // listed by vde_switch but not implemented there either
		case "tap":
			f.taps = append(f.taps, o.Arg)
		case "maxframe":
			f.maxFrame = cInt(o.Arg)
		case "nostdin":
			f.noStdin = true
		}
	}
	if f.numPorts <= 0 || f.hashSize <= 0 || f.maxFrame < 0 || f.maxFrame > frames.MaxJumbo {
		fmt.Fprintf(stderr, "%s: invalid argument\n", prog)
		return nil, usage()
	}
	if f.sock == "" {
		f.sock = "/tmp/vde.ctl"
		if os.Geteuid() == 0 {
			f.sock = "/var/run/vde.ctl"
		}
	}
	return f, -1
}

func runSwitch(prog string, args []string) int {
	f, code := parseSwitchFlags(prog, args, os.Stdout, os.Stderr)
	if f == nil {
		return code
	}
	singleP()
	log := newLogger(prog)
	if f.pidfile != "" {
		if _, err := os.Lstat(f.pidfile); err == nil {
			log.Printf("Error in pidfile creation: %s", strerror(syscall.EEXIST))
			return 1
		}
	}
	if f.daemon {
		if err := daemon.Start(); err != nil {
			log.Printf("daemon: %v", err)
			return 1
		}
		log.toSyslog(syslog.LOG_DAEMON)
		log.Printf("VDE_SWITCH started")
	}
	start := time.Now()
	uptime := func() int64 { return int64(time.Since(start) / time.Second) }
	hub := mgmt.NewHub()
	if !f.macSet {
		f.mac = randomMAC()
	}
	sw := vswitch.New(fabric.Config{NumPorts: f.numPorts, Hub: f.hub, HashSize: fabric.RoundPow2(f.hashSize), Logf: log.Printf,
		Clock: uptime, Events: func(ev fabric.Event) { hub.Publish(ev.Category, ev.Text) },
		MAC: f.mac, Priority: uint16(f.priority), FSTP: f.fstp})
	err := sw.Listen(vde2.ServerConfig{Dir: f.sock, Mode: f.mode, DirMode: f.dirmode, Group: f.group,
		Port0Mode: f.mgmtMode, Port0Group: f.mgmtGroup, MaxFrame: f.maxFrame})
	if err != nil {
		log.Printf("%v", err)
		sw.Close()
		return 255
	}
	attachTaps(sw, f.taps, f.maxFrame, log.Printf)
	exit := make(chan int, 1)
	ctlMode, _ := sw.Server().Modes()
	info := mgmt.Info{MAC: f.mac, Priority: f.priority, CtlDir: sw.Server().Dir(), CtlMode: ctlMode,
		Uptime: uptime, Logf: log.Printf}
	if f.mgmt != "" {
		info.MgmtPath, info.MgmtMode = absPath(f.mgmt), f.mgmtMode
	}
	con := mgmt.New(sw, hub, info)
	var ms *console.Server
	if f.mgmt != "" {
		ms, err = console.Listen(info.MgmtPath, os.FileMode(f.mgmtMode), f.mgmtGroup, con.Reg, hub, func() { exit <- 0 })
		if err != nil && err != console.ErrInUse {
			log.Printf("mgmt socket %s: %v", f.mgmt, err)
		}
	}
	var pf *pidfile
	if f.pidfile != "" {
		if pf, err = writePidfile(f.pidfile, true); err != nil {
			log.Printf("Error in pidfile creation: %s", strerror(err))
			sw.Close()
			return 1
		}
	}
	runRC(con, f.rcfile)
	if f.daemon {
		daemon.Chdir()
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM)
	go func() {
		s := <-sigs
		log.Printf("Caught signal %d, cleaning up and exiting", s.(syscall.Signal))
		exit <- 0
	}()
	if !f.daemon && !f.noStdin {
		go func() {
			prompt := func() {}
			if isTTY(0) {
				prompt = func() { os.Stdin.WriteString("vde$ ") }
			}
			if console.ServeStdin(con.Reg, hub, os.Stdin, os.Stdout, prompt) == console.Continue {
				log.Printf("EOF on stdin, cleaning up and exiting")
			}
			exit <- 0
		}()
	}
	stopProfile := startProfile()
	code = <-exit
	stopProfile()
	if ms != nil {
		ms.Close()
	}
	sw.Close()
	pf.remove()
	return code
}

// runRC runs the rc file: -f, else ~/.vde2/vde_switch.rc, else
// /etc/vde2/vde_switch.rc, whichever is readable first.
func runRC(con *mgmt.Console, rc string) {
	if rc == "" {
		for _, p := range []string{filepath.Join(os.Getenv("HOME"), ".vde2/vde_switch.rc"), "/etc/vde2/vde_switch.rc"} {
			if f, err := os.Open(p); err == nil {
				f.Close()
				rc = p
				break
			}
		}
	}
	if rc != "" {
		con.RunRC(rc)
	}
}

// randomMAC is vde_switch's default: 00:ff followed by 4 random bytes.
func randomMAC() frames.MAC {
	var m frames.MAC
	m[1] = 0xff
	rand.Read(m[2:])
	return m
}

// strerror returns glibc's text for an errno-carrying error.
func strerror(err error) string {
	var e syscall.Errno
	if ok := asErrno(err, &e); ok {
		s := e.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
}

// singleP runs the switch's Go code on one processor unless GOMAXPROCS is
// set in the environment. The data plane is one fabric actor fed by reader
// goroutines whose time goes to system calls; with more processors the
// runtime hands a readied reader to another thread (a futex wake-up and a
// cross-CPU hop per batch) instead of running it where the netpoller found
// it. Measured on 2 vCPUs with two libvdeplug clients (bench/compare.sh):
// about a fifth more frames per second with one processor, at 64 and at
// 1500 bytes. Blocking system calls still run on other threads.
func singleP() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}
