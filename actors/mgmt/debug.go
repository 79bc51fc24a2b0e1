package mgmt

import (
	"path/filepath"
	"strings"
	"syscall"

	"github.com/govde/govde/console"
)

func (c *Console) debugCmds() {
	c.Reg.Add(
		console.Command{Path: "debug", Help: "DEBUG MENU", Kind: console.Menu},
		console.Command{Path: "debug/list", Help: "list debug categories", Kind: console.WithFile, NeedsConn: true, Run: func(x *console.Ctx, arg string) error {
			return c.Hub.List(x, x.Session, strings.TrimSpace(arg))
		}},
		console.Command{Path: "debug/add", Syntax: "dbgpath", Help: "enable debug info for a given category", Kind: console.Plain, NeedsConn: true, Run: func(x *console.Ctx, arg string) error {
			return c.Hub.Subscribe(x.Session, strings.TrimSpace(arg), true)
		}},
		console.Command{Path: "debug/del", Syntax: "dbgpath", Help: "disable debug info for a given category", Kind: console.Plain, NeedsConn: true, Run: func(x *console.Ctx, arg string) error {
			return c.Hub.Subscribe(x.Session, strings.TrimSpace(arg), false)
		}},
	)
}

// plugin is a built-in module that plugin/add enables: its commands and
// debug categories join the console, as a vde_switch plugin's would.
type plugin struct {
	name, help string
	cmds       []console.Command
	cats       []console.Category
	start      func() error
	stop       func()
}

// builtinPlugins are the plugins plugin/add accepts, by name (also as
// NAME.so or a path ending in NAME.so, as users write for vde_switch).
func (c *Console) builtinPlugins() map[string]func() *plugin {
	return map[string]func() *plugin{"dump": c.dumpPlugin, "pdump": c.pdumpPlugin, "iplog": c.iplogPlugin}
}

func (c *Console) pluginCmds() {
	c.Reg.Add(
		console.Command{Path: "plugin", Help: "PLUGINS MENU", Kind: console.Menu},
		console.Command{Path: "plugin/list", Help: "list plugins", Kind: console.WithFile, Run: func(x *console.Ctx, _ string) error {
			c.mu.Lock()
			defer c.mu.Unlock()
			x.Printf("%-22s %s", "NAME", "HELP")
			x.Printf("%-22s %s", "------------", "----")
			for _, p := range c.plugins {
				x.Printf("%-22s %s", p.name, p.help)
			}
			if len(c.plugins) == 0 {
				return syscall.ENOENT
			}
			return nil
		}},
		console.Command{Path: "plugin/add", Syntax: "library", Help: "load a plugin", Kind: console.Plain, Run: func(_ *console.Ctx, arg string) error {
			name := strings.TrimSuffix(filepath.Base(strings.TrimSpace(arg)), ".so")
			mk, ok := c.builtinPlugins()[name]
			if !ok {
				return syscall.ENOENT
			}
			c.mu.Lock()
			for _, p := range c.plugins {
				if p.name == name {
					c.mu.Unlock()
					return syscall.EEXIST
				}
			}
			c.mu.Unlock()
			p := mk()
			if p.start != nil {
				if err := p.start(); err != nil {
					return err
				}
			}
			c.mu.Lock()
			c.plugins = append(c.plugins, p)
			c.mu.Unlock()
			c.Reg.Add(p.cmds...)
			c.Hub.AddCategories(p.cats...)
			return nil
		}},
		console.Command{Path: "plugin/del", Syntax: "name", Help: "unload a plugin", Kind: console.Plain, Run: func(_ *console.Ctx, arg string) error {
			name := strings.TrimSpace(arg)
			c.mu.Lock()
			for i, p := range c.plugins {
				if p.name == name {
					c.plugins = append(c.plugins[:i], c.plugins[i+1:]...)
					c.mu.Unlock()
					c.Reg.Remove(name)
					c.Hub.RemoveCategories(name)
					if p.stop != nil {
						p.stop()
					}
					return nil
				}
			}
			c.mu.Unlock()
			return syscall.ENOENT
		}},
	)
}
