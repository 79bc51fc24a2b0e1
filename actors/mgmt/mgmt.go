// Package mgmt is the switch's management console: vde_switch's command
// tree (general, ds/, debug/, plugin/, hash/, fstp/, port/, vlan/) on the
// shared console registry. Every command reads or changes the switch only
// by messages to the fabric actor, and prints what the Debian binary prints
// for the same state (the deliberate differences are in COMPATIBILITY.md).
package mgmt

import (
	"sync"

	"github.com/govde/govde/actors/fabric"
	"github.com/govde/govde/actors/vswitch"
	"github.com/govde/govde/console"
	"github.com/govde/govde/frames"
)

// Info is the switch identity and paths the console reports.
type Info struct {
	MAC      frames.MAC
	Priority int
	CtlDir   string
	CtlMode  int
	MgmtPath string // "" without -M
	MgmtMode int
	// Uptime returns the switch's seconds since start.
	Uptime func() int64
	// Shutdown stops the switch (the shutdown command).
	Shutdown func()
	Logf     func(format string, args ...any)
}

// Console is a switch's command set.
type Console struct {
	Reg  *console.Registry
	Hub  *console.Hub
	sw   *vswitch.Switch
	info Info

	mu      sync.Mutex
	plugins []*plugin
}

// Categories are vde_switch's debug categories, in debug/list order.
var Categories = []console.Category{
	{Path: "hash/+", Tag: 0o11, Help: "hash: new element"},
	{Path: "hash/-", Tag: 0o12, Help: "hash: discarded element"},
	{Path: "fstp/status", Tag: 0o44, Help: "fstp: status change"},
	{Path: "fstp/root", Tag: 0o45, Help: "fstp: rootswitch/port change"},
	{Path: "fstp/+", Tag: 0o41, Help: "fstp: port becomes active"},
	{Path: "fstp/-", Tag: 0o42, Help: "fstp: port becomes inactive"},
	{Path: "port/+", Tag: 0o21, Help: "new port"},
	{Path: "port/-", Tag: 0o22, Help: "closed port"},
	{Path: "port/descr", Tag: 0o23, Help: "set port description"},
	{Path: "port/ep/+", Tag: 0o31, Help: "new endpoint"},
	{Path: "port/ep/-", Tag: 0o32, Help: "closed endpoint"},
}

// NewHub returns the debug hub for a switch; pass its Publish to the
// fabric's Config.Events before the switch starts.
func NewHub() *console.Hub { return console.NewHub(Categories...) }

// New builds the console of sw. hub must be the one whose Publish the
// fabric reports to.
func New(sw *vswitch.Switch, hub *console.Hub, info Info) *Console {
	if info.Logf == nil {
		info.Logf = func(string, ...any) {}
	}
	c := &Console{Reg: &console.Registry{}, Hub: hub, sw: sw, info: info}
	hub.OnChange = func(active map[string]bool) {
		var mask uint32
		for cat := range active {
			mask |= fabric.EventCategories[cat]
		}
		sw.Sys.Root.Send(sw.Fabric, &fabric.SetDebug{Mask: mask})
	}
	c.general()
	c.debugCmds()
	c.pluginCmds()
	c.hashCmds()
	c.fstpCmds()
	c.portCmds()
	c.vlanCmds()
	return c
}

// RunRC runs an rc file at startup: output discarded, errors silent.
func (c *Console) RunRC(path string) error {
	var sink discard
	return console.RunScript(c.Reg, &console.Ctx{Out: sink.buf()}, path)
}

func (c *Console) ask(msg any) (any, error) { return c.sw.Ask(msg) }

// result turns a *fabric.Result reply into the command's error.
func (c *Console) result(msg any) error {
	r, err := c.ask(msg)
	if err != nil {
		return err
	}
	return r.(*fabric.Result).Err
}

func (c *Console) stats() (*fabric.Stats, error) { return c.sw.Stats() }
