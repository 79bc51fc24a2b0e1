package mgmt

import (
	"strings"
	"syscall"

	"github.com/govde/govde/actors/fabric"
	"github.com/govde/govde/console"
)

func (c *Console) portCmds() {
	c.Reg.Add(
		console.Command{Path: "port", Help: "PORT STATUS MENU", Kind: console.Menu},
		console.Command{Path: "port/showinfo", Help: "show port info", Kind: console.WithFile, Run: func(x *console.Ctx, _ string) error {
			st, err := c.stats()
			if err != nil {
				return err
			}
			x.Printf("Numports=%d", st.NumPorts)
			x.Printf("HUB=%t", st.Hub)
			x.Printf("counters=true")
			return nil
		}},
		console.Command{Path: "port/setnumports", Syntax: "N", Help: "set the number of ports", Kind: console.Plain, Run: func(_ *console.Ctx, arg string) error {
			return c.result(&fabric.SetNumPorts{N: atoi(arg)})
		}},
		console.Command{Path: "port/sethub", Syntax: "0/1", Help: "1=HUB 0=switch", Kind: console.Plain, Run: func(_ *console.Ctx, arg string) error {
			return c.result(&fabric.SetHub{On: atoi(arg) != 0})
		}},
		console.Command{Path: "port/setvlan", Syntax: "N VLAN", Help: "set port VLAN (untagged)", Kind: console.Plain, Run: func(_ *console.Ctx, arg string) error {
			v, ok := scanInts(arg, 2)
			if !ok {
				return syscall.EINVAL
			}
			return c.result(&fabric.SetPortVLAN{Port: v[0], VLAN: v[1]})
		}},
		console.Command{Path: "port/createauto", Help: "create a port with an automatically allocated id (inactive|notallocatable)", Kind: console.WithFile, Run: func(x *console.Ctx, _ string) error {
			r, err := c.ask(&fabric.CreateAuto{})
			if err != nil {
				return err
			}
			cp := r.(*fabric.CreatedPort)
			if cp.Err != nil {
				return cp.Err
			}
			x.Printf("Port %04d", cp.Port)
			return nil
		}},
		console.Command{Path: "port/create", Syntax: "N", Help: "create the port N (inactive|notallocatable)", Kind: console.Plain, Run: func(_ *console.Ctx, arg string) error {
			return c.result(&fabric.CreatePort{Port: atoi(arg)})
		}},
		console.Command{Path: "port/remove", Syntax: "N", Help: "remove the port N", Kind: console.Plain, Run: func(_ *console.Ctx, arg string) error {
			return c.result(&fabric.RemovePort{Port: atoi(arg)})
		}},
		console.Command{Path: "port/allocatable", Syntax: "N 0/1", Help: "Is the port allocatable as unnamed? 1=Y 0=N", Kind: console.Plain, Run: func(_ *console.Ctx, arg string) error {
			v, ok := scanInts(arg, 2)
			if !ok {
				return syscall.EINVAL
			}
			return c.result(&fabric.SetAllocatable{Port: v[0], On: v[1] != 0})
		}},
		console.Command{Path: "port/setuser", Syntax: "N user", Help: "access control: set user", Kind: console.Plain, Run: c.setACL(true)},
		console.Command{Path: "port/setgroup", Syntax: "N user", Help: "access control: set group", Kind: console.Plain, Run: c.setACL(false)},
		console.Command{Path: "port/epclose", Syntax: "N ID", Help: "remove the endpoint port N/id ID", Kind: console.Plain, Run: func(_ *console.Ctx, arg string) error {
			v, ok := scanInts(arg, 2)
			if !ok {
				return syscall.EINVAL
			}
			return c.result(&fabric.CloseEndpoint{Port: v[0], ID: v[1]})
		}},
		console.Command{Path: "port/resetcounter", Syntax: "[N]", Help: "reset the port (N) counters", Kind: console.Plain, Run: func(_ *console.Ctx, arg string) error {
			n := -1
			if strings.TrimSpace(arg) != "" {
				if n = atoi(arg); n < 0 {
					return syscall.EINVAL
				}
			}
			return c.result(&fabric.ResetCounters{Port: n})
		}},
		console.Command{Path: "port/print", Syntax: "[N]", Help: "print the port/endpoint table", Kind: console.WithFile, Run: c.printPorts(false)},
		console.Command{Path: "port/allprint", Syntax: "[N]", Help: "print the port/endpoint table (including inactive port)", Kind: console.WithFile, Run: c.printPorts(true)},
	)
}

func (c *Console) setACL(isUser bool) func(*console.Ctx, string) error {
	return func(_ *console.Ctx, arg string) error {
		n, who, ok := scanIntWord(arg)
		if !ok {
			return syscall.EINVAL
		}
		id, err := parseID(who, !isUser)
		if err != nil {
			return err
		}
		return c.result(&fabric.SetACL{Port: n, User: id, Group: id, SetUser: isUser})
	}
}

func (c *Console) printPorts(all bool) func(*console.Ctx, string) error {
	return func(x *console.Ctx, arg string) error {
		st, err := c.stats()
		if err != nil {
			return err
		}
		one := -1
		if strings.TrimSpace(arg) != "" {
			one = atoi(arg)
			if one < 0 || one >= st.NumPorts {
				return syscall.EINVAL
			}
		}
		found := false
		for _, p := range st.Ports {
			if (one >= 0 && p.Num != one) || (!all && !p.Active) {
				continue
			}
			found = true
			printPort(x, &p)
		}
		if one >= 0 && !found {
			return syscall.ENXIO
		}
		return nil
	}
}

func printPort(x *console.Ctx, p *fabric.PortInfo) {
	in, not := "", ""
	if !p.Active {
		in = "IN"
	}
	if !p.Allocatable {
		not = "NOT "
	}
	x.Printf("Port %04d untagged_vlan=%04d %sACTIVE - %sUnnamed Allocatable", p.Num, p.Untagged, in, not)
	x.Printf(" Current User: %s Access Control: (User: %s - Group: %s)", idName(p.CurUser, false), idName(p.User, false), idName(p.Group, true))
	x.Printf(" IN:  pkts %10d          bytes %20d", p.Counters.InPkts, p.Counters.InBytes)
	x.Printf(" OUT: pkts %10d          bytes %20d", p.Counters.OutPkts, p.Counters.OutBytes)
	for _, e := range p.Endpoints {
		descr := e.Descr
		if descr == "" {
			descr = "no endpoint description"
		}
		x.Printf("  -- endpoint ID %04d module %-12s: %s", e.ID, e.Module, descr)
	}
}
