package slirp

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/govde/govde/console"
)

// Console returns slirpvde's management console: the commands below in a
// console.Registry, served like vde_switch's (the same framing, on -M and
// on an interactive stdin). shutdown ends the console session with
// console.ErrShutdown; whoever serves it stops the router.
//
//	help [arg]        the command list
//	logout            ends a management connection
//	shutdown          stops slirpvde
//	showinfo          version, addresses, services
//	load path         runs a file of commands
//	fwd/print         the port forwards
//	fwd/add PROTO [HOSTADDR:]PORT:GUESTIP:GUESTPORT   adds one (tcp|udp; port 0: any free port)
//	fwd/del PROTO [HOSTADDR:]PORT                     removes one
//	flows/print       the open NAT flows
//	flows/limits      the limits and counters
//	flows/setmax N    the concurrent-flow limit
func (e *Endpoint) Console() *console.Registry {
	reg := &console.Registry{}
	trim := func(s string) string { return strings.TrimRight(s, " \t\r\n") }
	reg.Add(
		console.Command{Path: "help", Syntax: "[arg]", Help: "Help (limited to arg when specified)", Kind: console.WithFile, Run: func(x *console.Ctx, arg string) error {
			reg.Help(x, trim(arg))
			return nil
		}},
		console.Command{Path: "logout", Help: "logout from this mgmt terminal", Kind: console.Plain, Run: func(x *console.Ctx, _ string) error {
			if x.Session != nil && x.Session.Stdin {
				return console.ErrQuiet
			}
			return console.ErrLogout
		}},
		console.Command{Path: "shutdown", Help: "shutdown of slirpvde", Kind: console.Plain, Run: func(x *console.Ctx, _ string) error {
			e.cfg.Logf("Shutdown from mgmt command")
			return console.ErrShutdown
		}},
		console.Command{Path: "showinfo", Help: "show slirpvde version and info", Kind: console.WithFile, Run: func(x *console.Ctx, _ string) error {
			e.showinfo(x)
			return nil
		}},
		console.Command{Path: "load", Syntax: "path", Help: "load a configuration script", Kind: console.Plain, NeedsConn: true, Run: func(x *console.Ctx, arg string) error {
			return console.RunScript(reg, x, trim(arg))
		}},
		console.Command{Path: "fwd", Help: "PORT FORWARD MENU", Kind: console.Menu},
		console.Command{Path: "fwd/print", Help: "list the port forwards", Kind: console.WithFile, Run: func(x *console.Ctx, _ string) error {
			for _, f := range e.Forwards() {
				x.Printf("%s", f)
			}
			return nil
		}},
		console.Command{Path: "fwd/add", Syntax: "tcp|udp FWD", Help: "add a forward [HOSTADDR:]PORT:GUESTIP:GUESTPORT", Kind: console.WithFile, Run: func(x *console.Ctx, arg string) error {
			proto, spec, err := protoArg(trim(arg))
			if err != nil {
				return err
			}
			f, err := ParseForward(spec)
			if err != nil {
				return syscall.EINVAL
			}
			bound, err := e.AddForward(proto, f)
			if err != nil {
				return err
			}
			e.cfg.Logf("%s forward %s -> %s added", proto, bound, f.Guest)
			x.Printf("%s", ForwardInfo{Proto: proto, Forward: f, Bound: bound})
			return nil
		}},
		console.Command{Path: "fwd/del", Syntax: "tcp|udp LISTEN", Help: "remove the forward on [HOSTADDR:]PORT", Kind: console.Plain, Run: func(x *console.Ctx, arg string) error {
			proto, spec, err := protoArg(trim(arg))
			if err != nil {
				return err
			}
			listen, err := ParseListen(spec)
			if err != nil {
				return syscall.EINVAL
			}
			if err := e.RemoveForward(proto, listen); err != nil {
				return err
			}
			e.cfg.Logf("%s forward %s removed", proto, listen)
			return nil
		}},
		console.Command{Path: "flows", Help: "NAT FLOWS MENU", Kind: console.Menu},
		console.Command{Path: "flows/print", Help: "list the open NAT flows", Kind: console.WithFile, Run: func(x *console.Ctx, _ string) error {
			fs := e.flows.snapshot()
			sort.Slice(fs, func(i, j int) bool { return fs[i].since.Before(fs[j].since) })
			for _, f := range fs {
				x.Printf("%-7s %6ds %s", f.kind, int(time.Since(f.since)/time.Second), f.desc)
			}
			return nil
		}},
		console.Command{Path: "flows/limits", Help: "show limits and counters", Kind: console.WithFile, Run: func(x *console.Ctx, _ string) error {
			max := e.flows.limit()
			byKind := map[string]int{}
			for _, f := range e.flows.snapshot() {
				byKind[f.kind]++
			}
			x.Printf("flows %d max %d refused %d", e.Flows(), max, e.flows.refused.Load())
			x.Printf("tcp %d udp %d icmp %d tcp-fwd %d udp-fwd %d", byKind["tcp"], byKind["udp"], byKind["icmp"], byKind["tcp-fwd"], byKind["udp-fwd"])
			x.Printf("udp idle %v icmp idle %v", e.cfg.UDPIdle, e.cfg.ICMPIdle)
			x.Printf("echo requests %d replies %d", e.echo.requests.Load(), e.echo.replies.Load())
			w, r := e.Drops()
			x.Printf("drops lan->router %d router->lan %d", w, r)
			return nil
		}},
		console.Command{Path: "flows/setmax", Syntax: "N", Help: "set the concurrent-flow limit", Kind: console.Plain, Run: func(x *console.Ctx, arg string) error {
			n, err := strconv.Atoi(trim(arg))
			if err != nil || n <= 0 {
				return syscall.EINVAL
			}
			e.flows.setMax(int64(n))
			return nil
		}},
	)
	return reg
}

// protoArg splits "tcp|udp REST".
func protoArg(arg string) (proto, rest string, err error) {
	proto, rest, _ = strings.Cut(arg, " ")
	proto = strings.ToLower(proto)
	if proto != TCP && proto != UDP {
		return "", "", syscall.EINVAL
	}
	return proto, strings.TrimSpace(rest), nil
}

// showinfo writes the router's description.
func (e *Endpoint) showinfo(x *console.Ctx) {
	x.Printf("slirpvde (govde) pid %d", os.Getpid())
	x.Printf("virtual host %s %s (router %s)", e.HostPrefix(), e.Host6Prefix(), e.r.ll6)
	x.Printf("dns %s %s -> %s", e.r.dns, e.r.dns6, orNone(e.r.upstream))
	dhcp := "off"
	if e.dhcp != nil {
		dhcp = fmt.Sprintf("from %s and %s", e.r.dhcpStart, e.r.dhcp6Start)
	}
	x.Printf("dhcp %s", dhcp)
	ra := "off"
	if e.cfg.RA {
		ra = fmt.Sprintf("prefix %s every %v", e.r.prefix6, e.cfg.RAInterval)
	}
	x.Printf("router advertisements %s", ra)
	x.Printf("flows %d max %d", e.Flows(), e.flows.limit())
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
