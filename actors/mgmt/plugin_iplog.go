package mgmt

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/govde/govde/actors/fabric"
	"github.com/govde/govde/console"
	"github.com/govde/govde/frames"
)

// iplogPlugin is the `iplog` plugin: it watches the source addresses of
// IPv4 and IPv6 packets entering the switch and, for addresses inside the
// ranges given with iplog/ipadd, logs each new (or moved) address with its
// MAC, port, VLAN and the port's user, to iplog/newip listeners, the log
// file and the list commands. The fabric's tap only looks the address up;
// anything new goes to a goroutine that resolves the port's user and writes.
type iplogPlugin struct {
	c       *Console
	mu      sync.Mutex
	ranges  []netip.Prefix
	seen    map[netip.Addr]*ipEntry
	logfile string
	gcint   int
	expire  int
	events  chan string // lines for the log file
	done    chan struct{}
}

type ipEntry struct {
	mac  frames.MAC
	port int
	vlan uint16
	last time.Time
	user string
}

func (l *iplogPlugin) In(port, uid int, descr string, p []byte) {
	off, vlan := 14, uint16(0)
	etype := frames.EtherType(p)
	if frames.IsTagged(p) {
		if len(p) < 18 {
			return
		}
		off, vlan, etype = 18, frames.VID(p), uint16(p[16])<<8|uint16(p[17])
	}
	var addr netip.Addr
	switch {
	case etype == 0x0800 && len(p) >= off+20 && p[off]>>4 == 4:
		addr = netip.AddrFrom4([4]byte(p[off+12 : off+16]))
	case etype == 0x86dd && len(p) >= off+40 && p[off]>>4 == 6:
		addr = netip.AddrFrom16([16]byte(p[off+8 : off+24]))
	default:
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.inRanges(addr) {
		return
	}
	src := frames.Src(p)
	if e := l.seen[addr]; e != nil && e.mac == src && e.port == port && e.vlan == vlan {
		e.last = time.Now()
		return
	}
	e := &ipEntry{mac: src, port: port, vlan: vlan, last: time.Now(), user: idName(uid, false)}
	l.seen[addr] = e
	text := fmt.Sprintf("%s %s mac=%s port=%d vlan=%d user=%s \"%s\"", family(addr), addr, src, port, vlan, e.user, descr)
	l.c.Hub.Publish("iplog/newip", text)
	select {
	case l.events <- text: // a nil queue (plugin stopped) takes nothing
	default:
	}
}

func (l *iplogPlugin) Out(int, []byte) {}

func (l *iplogPlugin) inRanges(a netip.Addr) bool {
	for _, r := range l.ranges {
		if r.Contains(a) {
			return true
		}
	}
	return false
}

func family(a netip.Addr) string {
	if a.Is4() {
		return "ipv4"
	}
	return "ipv6"
}

// logger appends the new-address lines to the log file, off the fabric's
// goroutine.
func (l *iplogPlugin) logger() {
	defer close(l.done)
	l.mu.Lock()
	events := l.events
	l.mu.Unlock()
	for text := range events {
		l.mu.Lock()
		file := l.logfile
		l.mu.Unlock()
		if file == "" {
			continue
		}
		if f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0600); err == nil {
			fmt.Fprintf(f, "%s %s\n", time.Now().Format(time.Stamp), text)
			f.Close()
		}
	}
}

// gc forgets addresses not seen for expire seconds.
func (l *iplogPlugin) gc() {
	for {
		l.mu.Lock()
		every := time.Duration(l.gcint) * time.Second
		l.mu.Unlock()
		select {
		case <-l.done:
			return
		case <-time.After(every):
		}
		l.mu.Lock()
		for a, e := range l.seen {
			if time.Since(e.last) > time.Duration(l.expire)*time.Second {
				delete(l.seen, a)
			}
		}
		l.mu.Unlock()
	}
}

func (l *iplogPlugin) list(x *console.Ctx, keep func(netip.Addr, *ipEntry) bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for a, e := range l.seen {
		if keep(a, e) {
			x.Printf("%s %s port=%d user=%s", family(a), a, e.port, e.user)
		}
	}
}

func (c *Console) iplogPlugin() *plugin {
	l := &iplogPlugin{c: c, seen: map[netip.Addr]*ipEntry{}, gcint: 10, expire: 360}
	rangeArg := func(arg string) (netip.Prefix, error) {
		pfx, err := netip.ParsePrefix(strings.TrimSpace(arg))
		if err != nil {
			return pfx, syscall.EINVAL
		}
		return pfx.Masked(), nil
	}
	setInt := func(dst *int) func(*console.Ctx, string) error {
		return func(_ *console.Ctx, arg string) error {
			l.mu.Lock()
			defer l.mu.Unlock()
			if n := atoi(arg); n > 0 {
				*dst = n
				return nil
			}
			return syscall.EINVAL
		}
	}
	return &plugin{name: "iplog", help: "log ip/port/user assignment",
		cmds: []console.Command{
			{Path: "iplog", Help: "IP/Mac/User Logging", Kind: console.Menu},
			{Path: "iplog/showinfo", Help: "Show info on logging", Kind: console.WithFile, Run: func(x *console.Ctx, _ string) error {
				l.mu.Lock()
				defer l.mu.Unlock()
				x.Printf("iplog: ip/port/user logging plugin")
				if l.logfile != "" {
					x.Printf("log on file %s", l.logfile)
				}
				x.Printf("GC interval %d secs", l.gcint)
				x.Printf("GC expire %d secs", l.expire)
				return nil
			}},
			{Path: "iplog/logfile", Syntax: "pathname", Help: "Set the logfile", Kind: console.Plain, Run: func(_ *console.Ctx, arg string) error {
				name := strings.TrimSpace(arg)
				f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0600)
				if err != nil {
					return syscall.ENOENT
				}
				f.Close()
				l.mu.Lock()
				l.logfile = name
				l.mu.Unlock()
				return nil
			}},
			{Path: "iplog/ipadd", Syntax: "ipaddr/mask", Help: "add an ipv4/v6 range", Kind: console.Plain, Run: func(_ *console.Ctx, arg string) error {
				pfx, err := rangeArg(arg)
				if err != nil {
					return err
				}
				l.mu.Lock()
				defer l.mu.Unlock()
				for _, r := range l.ranges {
					if r == pfx {
						return syscall.EEXIST
					}
				}
				l.ranges = append(l.ranges, pfx)
				return nil
			}},
			{Path: "iplog/ipdel", Syntax: "ipaddr/mask", Help: "del an ipv6/v6 range", Kind: console.Plain, Run: func(_ *console.Ctx, arg string) error {
				pfx, err := rangeArg(arg)
				if err != nil {
					return err
				}
				l.mu.Lock()
				defer l.mu.Unlock()
				for i, r := range l.ranges {
					if r == pfx {
						l.ranges = append(l.ranges[:i], l.ranges[i+1:]...)
						return nil
					}
				}
				return syscall.ENOENT
			}},
			{Path: "iplog/list", Help: "list ip ranges", Kind: console.WithFile, Run: func(x *console.Ctx, _ string) error {
				l.mu.Lock()
				defer l.mu.Unlock()
				for _, r := range l.ranges {
					x.Printf("  %s: %s", family(r.Addr()), r)
				}
				return nil
			}},
			{Path: "iplog/setgcint", Syntax: "N", Help: "change garbage collector interval", Kind: console.Plain, Run: setInt(&l.gcint)},
			{Path: "iplog/setexpire", Syntax: "N", Help: "change iplog entries expire time", Kind: console.Plain, Run: setInt(&l.expire)},
			{Path: "iplog/iplist", Help: "list active IP", Kind: console.WithFile, Run: func(x *console.Ctx, _ string) error {
				l.list(x, func(netip.Addr, *ipEntry) bool { return true })
				return nil
			}},
			{Path: "iplog/ipport", Syntax: "port", Help: "list active IP on a port", Kind: console.WithFile, Run: func(x *console.Ctx, arg string) error {
				n := atoi(arg)
				l.list(x, func(_ netip.Addr, e *ipEntry) bool { return e.port == n })
				return nil
			}},
			{Path: "iplog/ipuser", Syntax: "user", Help: "list active IP of a user", Kind: console.WithFile, Run: func(x *console.Ctx, arg string) error {
				u := strings.TrimSpace(arg)
				l.list(x, func(_ netip.Addr, e *ipEntry) bool { return e.user == u })
				return nil
			}},
			{Path: "iplog/ipsearch", Syntax: "ipaddr", Help: "search an IP address", Kind: console.WithFile, Run: func(x *console.Ctx, arg string) error {
				a, err := netip.ParseAddr(strings.TrimSpace(arg))
				if err != nil {
					return syscall.EINVAL
				}
				l.list(x, func(b netip.Addr, _ *ipEntry) bool { return a == b })
				return nil
			}},
		},
		cats: []console.Category{{Path: "iplog/newip", Tag: 0o301, Help: "show new ip addresses"}},
		start: func() error {
			l.events, l.done = make(chan string, 256), make(chan struct{})
			go l.logger()
			go l.gc()
			c.sw.Sys.Root.Send(c.sw.Fabric, &fabric.AddTap{Tap: l})
			return nil
		},
		stop: func() {
			c.sw.Sys.Root.Send(c.sw.Fabric, &fabric.RemoveTap{Tap: l})
			l.mu.Lock() // the tap sends under l.mu: after this it sees no queue
			close(l.events)
			l.events = nil
			l.mu.Unlock()
		},
	}
}
