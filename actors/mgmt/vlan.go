package mgmt

import (
	"strings"
	"syscall"

	"github.com/govde/govde/actors/fabric"
	"github.com/govde/govde/console"
)

func (c *Console) vlanCmds() {
	pair := func(mk func(vlan, port int) any) func(*console.Ctx, string) error {
		return func(_ *console.Ctx, arg string) error {
			v, ok := scanInts(arg, 2)
			if !ok {
				return syscall.EINVAL
			}
			return c.result(mk(v[0], v[1]))
		}
	}
	c.Reg.Add(
		console.Command{Path: "vlan", Help: "VLAN MANAGEMENT MENU", Kind: console.Menu},
		console.Command{Path: "vlan/create", Syntax: "N", Help: "create the VLAN with tag N", Kind: console.Plain, Run: func(_ *console.Ctx, arg string) error {
			return c.result(&fabric.CreateVLAN{VLAN: atoi(arg)})
		}},
		console.Command{Path: "vlan/remove", Syntax: "N", Help: "remove the VLAN with tag N", Kind: console.Plain, Run: func(_ *console.Ctx, arg string) error {
			return c.result(&fabric.RemoveVLAN{VLAN: atoi(arg)})
		}},
		console.Command{Path: "vlan/addport", Syntax: "N PORT", Help: "add port to the vlan N (tagged)", Kind: console.Plain,
			Run: pair(func(v, p int) any { return &fabric.AddTagged{VLAN: v, Port: p} })},
		// govde prints the corrected help text (the original repeats addport's).
		console.Command{Path: "vlan/delport", Syntax: "N PORT", Help: "delete port from the vlan N (tagged)", Kind: console.Plain,
			Run: pair(func(v, p int) any { return &fabric.DelTagged{VLAN: v, Port: p} })},
		console.Command{Path: "vlan/print", Syntax: "[N]", Help: "print the list of defined vlan", Kind: console.WithFile, Run: c.printVLANs(false)},
		console.Command{Path: "vlan/allprint", Syntax: "[N]", Help: "print the list of defined vlan (including inactive port)", Kind: console.WithFile, Run: c.printVLANs(true)},
	)
}

func (c *Console) printVLANs(all bool) func(*console.Ctx, string) error {
	return func(x *console.Ctx, arg string) error {
		one := -1
		if strings.TrimSpace(arg) != "" {
			one = atoi(arg)
			lo := 0
			if all {
				lo = 1
			}
			if one < lo || one > 4093 {
				return syscall.EINVAL
			}
		}
		r, err := c.ask(&fabric.GetVLANs{})
		if err != nil {
			return err
		}
		vt := r.(*fabric.VLANs)
		found := false
		for _, v := range vt.VLANs {
			if one >= 0 && int(v.ID) != one {
				continue
			}
			found = true
			x.Printf("VLAN %04d", v.ID)
			if vt.Hub {
				continue // vde_switch prints no ports in hub mode
			}
			for _, m := range orderMembers(v.Members) {
				if !all && !m.Active {
					continue
				}
				status := "Forwarding"
				switch {
				case m.Blocked:
					status = "Discarding"
				case !m.Active:
					status = "Learning"
				}
				if all {
					x.Printf(" -- Port %04d tagged=%d active=%d status=%s", m.Port, b2i(m.Tagged), b2i(m.Active), status)
				} else {
					x.Printf(" -- Port %04d tagged=%d active=1 status=%s", m.Port, b2i(m.Tagged), status)
				}
			}
		}
		if one >= 0 && !found {
			return syscall.ENXIO
		}
		return nil
	}
}

// orderMembers lists a VLAN's ports as vde_switch does: ascending port
// order (members come from the fabric sorted).
func orderMembers(m []fabric.VLANMember) []fabric.VLANMember { return m }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
