package mgmt

import (
	"os"
	"strings"

	"github.com/govde/govde/console"
)

func (c *Console) general() {
	c.Reg.Add(
		console.Command{Path: "ds", Help: "DATA SOCKET MENU", Kind: console.Menu},
		console.Command{Path: "ds/showinfo", Help: "show ds info", Kind: console.WithFile, Run: func(x *console.Ctx, _ string) error {
			x.Printf("ctl dir %s", c.info.CtlDir)
			x.Printf("std mode 0%03o", c.info.CtlMode)
			return nil
		}},
		console.Command{Path: "help", Syntax: "[arg]", Help: "Help (limited to arg when specified)", Kind: console.WithFile, Run: func(x *console.Ctx, arg string) error {
			c.Reg.Help(x, strings.TrimRight(arg, " \t\n"))
			return nil
		}},
		console.Command{Path: "logout", Help: "logout from this mgmt terminal", Kind: console.Plain, Run: func(x *console.Ctx, _ string) error {
			if x.Session != nil && x.Session.Stdin {
				return console.ErrQuiet
			}
			return console.ErrLogout
		}},
		console.Command{Path: "shutdown", Help: "shutdown of the switch", Kind: console.Plain, Run: func(x *console.Ctx, _ string) error {
			c.info.Logf("Shutdown from mgmt command") // in a script: only logged
			return console.ErrShutdown
		}},
		console.Command{Path: "showinfo", Help: "show switch version and info", Kind: console.WithFile, Run: func(x *console.Ctx, _ string) error {
			x.Out.WriteString(console.Banner)
			x.Printf("")
			x.Printf("pid %d MAC %s uptime %d", os.Getpid(), c.info.MAC, c.info.Uptime())
			if c.info.MgmtPath != "" {
				x.Printf("mgmt %s perm 0%03o", c.info.MgmtPath, c.info.MgmtMode)
			}
			return nil
		}},
		console.Command{Path: "load", Syntax: "path", Help: "load a configuration script", Kind: console.Plain, NeedsConn: true, Run: func(x *console.Ctx, arg string) error {
			return console.RunScript(c.Reg, x, strings.TrimRight(arg, " \t\n"))
		}},
	)
}
