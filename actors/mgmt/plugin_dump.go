package mgmt

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/govde/govde/actors/fabric"
	"github.com/govde/govde/console"
)

// dumpPlugin is the `dump` plugin: with dump/active 1 every frame in and
// out is shown as a hex dump to the consoles listening to dump/packetin and
// dump/packetout.
type dumpPlugin struct {
	c      *Console
	active atomic.Bool
}

func (d *dumpPlugin) line(port int, p []byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Pkt: Port %04d len=%04d ", port, len(p))
	for _, x := range p {
		fmt.Fprintf(&b, "%02x ", x)
	}
	return b.String()
}

func (d *dumpPlugin) In(port, _ int, _ string, p []byte) {
	if d.active.Load() {
		d.c.Hub.Publish("dump/packetin", d.line(port, p))
	}
}

func (d *dumpPlugin) Out(port int, p []byte) {
	if d.active.Load() {
		d.c.Hub.Publish("dump/packetout", d.line(port, p))
	}
}

func (c *Console) dumpPlugin() *plugin {
	d := &dumpPlugin{c: c}
	return &plugin{name: "dump", help: "dump packets",
		cmds: []console.Command{
			{Path: "dump", Help: "DUMP Packets", Kind: console.Menu},
			{Path: "dump/active", Syntax: "0/1", Help: "start dumping data", Kind: console.Plain, Run: func(_ *console.Ctx, arg string) error {
				d.active.Store(atoi(arg) != 0)
				return nil
			}},
		},
		cats: []console.Category{
			{Path: "dump/packetin", Tag: 0o101, Help: "dump incoming packet"},
			{Path: "dump/packetout", Tag: 0o102, Help: "dump outgoing packet"},
		},
		start: func() error { c.sw.Sys.Root.Send(c.sw.Fabric, &fabric.AddTap{Tap: d}); return nil },
		stop:  func() { c.sw.Sys.Root.Send(c.sw.Fabric, &fabric.RemoveTap{Tap: d}) },
	}
}
