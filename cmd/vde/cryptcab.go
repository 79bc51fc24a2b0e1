package main

import (
	"context"
	"errors"
	"fmt"
	"log/syslog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/govde/govde/actors/cable"
	"github.com/govde/govde/actors/vswitch"
	"github.com/govde/govde/frames"
	"github.com/govde/govde/internal/daemon"
	"github.com/govde/govde/internal/getopt"
	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/cryptcab"
	"github.com/govde/govde/transports/vnl"
)

const cryptcabUsage = `Usage: %s [-s socketname] [-c [remoteuser@]remotehost[:remoteport]] [-p localport] [-P pre-shared/key/path] [-d] [-x] [-v]
  -s, --sock VNL           the network to join (default: the default switch)
  -c, --connect [USER@]HOST[:PORT]
                           client mode: connect to the server at HOST, UDP PORT (default 7667)
  -p, --localport [ADDR:]PORT
                           local UDP port (server default 7667 on every address; client default any)
  -P, --preshared KEYFILE  authenticate with this pre-shared key file (both ends);
                           without it the client logs in over ssh as USER
  -k, --keepalive          accepted for compatibility: keepalives are always on
  -d, --daemon             run in the background (messages go to syslog)
  -v, --verbose            say more (repeat for more)
  -x, --noencrypt          refused: a cryptcab always encrypts (use a udp:// cable)
  -h, --help               this help
(govde additions)
  -i, --identity FILE      ssh private key (default ~/.ssh/id_ed25519, id_ecdsa, id_rsa; and ssh-agent)
      --known-hosts FILE   ssh known_hosts (default ~/.ssh/known_hosts, /etc/ssh/ssh_known_hosts)
      --ssh-port PORT      ssh port of the server's host (default 22)
      --ssh-socket PATH    the server's ticket socket (default /tmp/vde_cryptcab.PORT.sock)
      --pidfile FILE       write the process id to FILE
      --keepalive-interval SECONDS   idle time before a keepalive (default 10)
      --session-timeout SECONDS      silence that ends a session (default 120)
      --max-sessions N     server: clients served at once (default 256)
      --maxframe N         longest frame carried (default 9234)
`

var cryptcabOpts = []getopt.Option{
	{Short: 's', Long: []string{"sock", "vdesock", "unix"}, HasArg: true},
	{Short: 'p', Long: []string{"localport"}, HasArg: true},
	{Short: 'c', Long: []string{"connect"}, HasArg: true},
	{Short: 'P', Long: []string{"preshared"}, HasArg: true},
	{Short: 'x', Long: []string{"noencrypt"}},
	{Short: 'k', Long: []string{"keepalive"}},
	{Short: 'v', Long: []string{"verbose"}},
	{Short: 'h', Long: []string{"help"}},
	{Short: 'd', Long: []string{"daemon"}},
	{Short: 'i', Long: []string{"identity"}, HasArg: true},
	{Long: []string{"known-hosts"}, HasArg: true},
	{Long: []string{"ssh-port"}, HasArg: true},
	{Long: []string{"ssh-socket"}, HasArg: true},
	{Long: []string{"pidfile"}, HasArg: true},
	{Long: []string{"keepalive-interval"}, HasArg: true},
	{Long: []string{"session-timeout"}, HasArg: true},
	{Long: []string{"max-sessions"}, HasArg: true},
	{Long: []string{"maxframe"}, HasArg: true},
}

// cryptcabFlags is the parsed command line of vde_cryptcab.
type cryptcabFlags struct {
	sock, local, connect, psk    string
	identity, knownHosts, socket string
	pidfile                      string
	sshPort, maxSessions         int
	maxFrame                     int
	keepalive, daemon            bool
	verbose                      int
	timing                       cryptcab.Timing
}

func parseCryptcabFlags(prog string, argv []string) (*cryptcabFlags, int) {
	usage := func() int { fmt.Fprintf(os.Stderr, cryptcabUsage, prog); return 1 }
	// --verbose=vv (an optional argument in the original) counts like -vvv.
	var args []string
	for _, a := range argv {
		if v, ok := strings.CutPrefix(a, "--verbose="); ok && strings.Trim(v, "v") == "" {
			args = append(args, "-v"+v)
			continue
		}
		args = append(args, a)
	}
	f := &cryptcabFlags{}
	bad := false
	set := getopt.Set{Opts: cryptcabOpts, Prog: prog, Warn: func(m string) { fmt.Fprintln(os.Stderr, m); bad = true }}
	opts, rest := set.Parse(args)
	if bad || len(rest) > 0 {
		return nil, usage()
	}
	seconds := func(s string) (time.Duration, bool) {
		v, err := strconv.ParseFloat(s, 64)
		return time.Duration(v * float64(time.Second)), err == nil && v > 0
	}
	for _, o := range opts {
		var ok = true
		switch o.Key() {
		case "sock":
			f.sock = o.Arg
		case "localport":
			f.local = o.Arg
		case "connect":
			f.connect = o.Arg
		case "preshared":
			f.psk = o.Arg
		case "noencrypt":
			fmt.Fprintf(os.Stderr, "%s: -x (no encryption) is not supported: a cryptcab always encrypts; use a udp:// cable for a plain one\n", prog)
			return nil, 1
		case "keepalive":
			f.keepalive = true
		case "verbose":
			f.verbose++
		case "help":
			return nil, usage()
		case "daemon":
			f.daemon = true
		case "identity":
			f.identity = o.Arg
		case "known-hosts":
			f.knownHosts = o.Arg
		case "ssh-port":
			f.sshPort, _ = strconv.Atoi(o.Arg)
			ok = f.sshPort > 0 && f.sshPort < 65536
		case "ssh-socket":
			f.socket = o.Arg
		case "pidfile":
			f.pidfile = absPath(o.Arg)
		case "keepalive-interval":
			f.timing.Keepalive, ok = seconds(o.Arg)
		case "session-timeout":
			f.timing.SessionTimeout, ok = seconds(o.Arg)
		case "max-sessions":
			f.maxSessions, _ = strconv.Atoi(o.Arg)
			ok = f.maxSessions > 0
		case "maxframe":
			f.maxFrame, _ = strconv.Atoi(o.Arg)
			ok = f.maxFrame >= frames.MinFrame && f.maxFrame <= frames.MaxJumbo-cryptcab.Overhead
		}
		if !ok {
			fmt.Fprintf(os.Stderr, "%s: bad value for --%s: %q\n", prog, o.Key(), o.Arg)
			return nil, usage()
		}
	}
	if f.keepalive && f.connect == "" {
		fmt.Fprintf(os.Stderr, "\nkeepalive option is valid in client mode only.\n\n")
		return nil, usage()
	}
	return f, -1
}

// cryptcabLog prints `vde_cryptcab: message` lines up to the verbosity
// asked for (level 0 always), to syslog once daemonized.
type cryptcabLog struct {
	*logger
	verbose int
}

func (l *cryptcabLog) at(level int) func(string, ...any) {
	return func(format string, args ...any) {
		if l.verbose >= level {
			l.Printf(format, args...)
		}
	}
}

func runCryptcab(prog string, argv []string) int {
	f, code := parseCryptcabFlags(prog, argv)
	if f == nil {
		return code
	}
	log := &cryptcabLog{logger: newLogger("vde_cryptcab"), verbose: f.verbose}
	var psk *cryptcab.PSK
	if f.psk != "" {
		p, err := cryptcab.LoadPSK(f.psk)
		if err != nil {
			log.Printf("%s", ccErr(err))
			return 1
		}
		psk = &p
		log.at(1)("Using pre-shared key %s", f.psk)
	} else {
		log.at(1)("Using ssh key exchange for authentication")
	}
	if f.daemon {
		if err := daemon.Start(); err != nil {
			log.Printf("daemon: %v", err)
			return 1
		}
		log.toSyslog(syslog.LOG_DAEMON)
		daemon.Chdir()
	}
	if f.pidfile != "" {
		pf, err := writePidfile(f.pidfile, false)
		if err != nil {
			log.Printf("%s: %s", f.pidfile, strerror(err))
			return 1
		}
		defer pf.remove()
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	signal.Ignore(syscall.SIGPIPE)
	defer signal.Stop(sigs)
	if f.connect != "" {
		return cryptcabClient(f, psk, log, sigs)
	}
	return cryptcabServer(f, psk, log, sigs)
}

func cryptcabClient(f *cryptcabFlags, psk *cryptcab.PSK, log *cryptcabLog, sigs chan os.Signal) int {
	t, err := cryptcab.ParseTarget(f.connect)
	if err != nil {
		log.Printf("%s", ccErr(err))
		return 1
	}
	cfg := cryptcab.ClientConfig{Server: t.Addr(), Local: f.local, MaxFrame: f.maxFrame, Timing: f.timing,
		Logf: log.at(1), Descr: "cryptcab://" + t.String()}
	if psk != nil {
		cfg.Auth = *psk
	} else {
		sa := &cryptcab.SSHAuth{User: t.User, Host: t.Host, Port: f.sshPort, Socket: f.socket, UDPPort: t.Port}
		if f.identity != "" {
			sa.Identities = []string{f.identity}
		}
		if f.knownHosts != "" {
			sa.KnownHosts = []string{f.knownHosts}
		}
		cfg.Auth = sa
	}
	ep, err := openVNL(f.sock, vnl.Args{Descr: "vde_cryptcab:", MaxFrame: f.maxFrame, Mode: 0700})
	if err != nil {
		log.Printf("%s", ccErr(err))
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-ctx.Done():
		}
	}()
	c, err := cryptcab.Dial(ctx, cfg)
	if err != nil {
		cancel()
		ep.Close()
		log.Printf("%s", ccErr(err))
		return 1
	}
	log.at(1)("connected to %s from %v", t, c.LocalAddr())
	sys := vswitch.NewSystem()
	cab := cable.New(sys, c, ep, cable.Options{})
	select {
	case <-cab.Done():
	case <-ctx.Done():
	}
	cancel()
	cab.Close()
	log.at(1)("stats: %s", statsLine(c.Stats()))
	if err := cab.Err(); err != nil {
		log.Printf("%s", ccErr(err))
	}
	return 0
}

func cryptcabServer(f *cryptcabFlags, psk *cryptcab.PSK, log *cryptcabLog, sigs chan os.Signal) int {
	addr := f.local
	if addr == "" {
		addr = strconv.Itoa(cryptcab.DefaultPort)
	}
	srv, err := cryptcab.Listen(cryptcab.ServerConfig{Addr: addr, PSK: psk, TicketSocket: f.socket,
		MaxSessions: f.maxSessions, MaxFrame: f.maxFrame, Timing: f.timing, Logf: log.at(1)})
	if err != nil {
		log.Printf("%s", ccErr(err))
		return 1
	}
	log.at(1)("listening on udp %v", srv.Addr())
	if p := srv.TicketSocket(); p != "" {
		log.at(1)("ssh tickets on %s", p)
	}
	sys := vswitch.NewSystem()
	var mu sync.Mutex
	cables := map[*cable.Cable]bool{}
	var wg sync.WaitGroup
	go func() {
		for {
			s, err := srv.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				serveSession(sys, f, s, log, &mu, cables)
			}()
		}
	}()
	<-sigs
	srv.Close()
	mu.Lock()
	for c := range cables {
		c.Close()
	}
	mu.Unlock()
	wg.Wait()
	log.at(1)("stats: %s", statsLine(srv.Stats()))
	return 0
}

// serveSession joins one client's session to the network: one plug (one
// switch port) per client, as the original does.
func serveSession(sys *actor.ActorSystem, f *cryptcabFlags, s *cryptcab.Session, log *cryptcabLog, mu *sync.Mutex, cables map[*cable.Cable]bool) {
	who := s.RemoteAddr().String()
	if u := s.User(); u != "" {
		who += " user " + u
	}
	ep, err := openVNL(f.sock, vnl.Args{Descr: "vde_cryptcab: " + who, MaxFrame: f.maxFrame, Mode: 0700})
	if err != nil {
		log.Printf("session %016x (%s): %s", s.ID(), who, ccErr(err))
		s.Close()
		return
	}
	c := cable.New(sys, transports.Endpoint(s), ep, cable.Options{})
	mu.Lock()
	cables[c] = true
	mu.Unlock()
	<-c.Done()
	c.Close()
	mu.Lock()
	delete(cables, c)
	mu.Unlock()
	if err := c.Err(); err != nil && !errors.Is(err, transports.ErrClosed) {
		log.at(1)("session %016x (%s) ended: %v", s.ID(), who, err)
	} else {
		log.at(1)("session %016x (%s) ended", s.ID(), who)
	}
}

// ccErr is an error as one line without the package's own prefix (the
// logger already says vde_cryptcab).
func ccErr(err error) string { return strings.TrimPrefix(err.Error(), "cryptcab: ") }

func statsLine(st cryptcab.Stats) string {
	return fmt.Sprintf("sessions %d handshakes %d rekeys %d refused %d; in %d frames %d bytes; out %d frames %d bytes; "+
		"dropped: malformed %d unknown-session %d auth-failed %d replayed %d too-old %d foreign %d queue %d no-key %d",
		st.Sessions, st.Handshakes, st.Rekeys, st.HandshakeFailures, st.FramesIn, st.BytesIn, st.FramesOut, st.BytesOut,
		st.Malformed, st.UnknownSession, st.AuthFailed, st.Replayed, st.TooOld, st.ForeignSource, st.QueueFull, st.NoKey)
}
