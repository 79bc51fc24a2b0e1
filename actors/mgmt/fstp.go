package mgmt

import (
	"strings"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/govde/govde/actors/fabric"
	"github.com/govde/govde/actors/fstp"
	"github.com/govde/govde/console"
)

func (c *Console) fstpCmds() {
	c.Reg.Add(
		console.Command{Path: "fstp", Help: "FAST SPANNING TREE MENU", Kind: console.Menu},
		console.Command{Path: "fstp/showinfo", Help: "show fstp info", Kind: console.WithFile, Run: func(x *console.Ctx, _ string) error {
			a, err := c.fstpActors()
			if err != nil {
				return err
			}
			x.Printf("MAC %s Priority %d (0x%x)", c.info.MAC, c.info.Priority, c.info.Priority)
			x.Printf("FSTP=%t", a.On)
			return nil
		}},
		console.Command{Path: "fstp/setfstp", Syntax: "0/1", Help: "Fast spanning tree protocol 1=ON 0=OFF", Kind: console.WithFile, Run: func(x *console.Ctx, arg string) error {
			st, err := c.stats()
			if err != nil {
				return err
			}
			if st.Hub {
				x.Printf("Can't use fstp in hub mode")
				return nil
			}
			return c.result(&fabric.SetFSTP{On: atoi(arg) != 0})
		}},
		console.Command{Path: "fstp/setedge", Syntax: "VLAN PORT 1/0", Help: "Define an edge port for a vlan 1=Y 0=N", Kind: console.Plain, Run: func(_ *console.Ctx, arg string) error {
			v, ok := scanInts(arg, 3)
			if !ok {
				return syscall.EINVAL
			}
			pid, err := c.fstpActor(v[0], v[1])
			if err != nil {
				return err
			}
			c.sw.Sys.Root.Send(pid, &fstp.SetEdge{Port: v[1], On: v[2] != 0})
			return nil
		}},
		console.Command{Path: "fstp/bonus", Syntax: "VLAN PORT COST", Help: "set the port bonus for a vlan", Kind: console.Plain, Run: func(_ *console.Ctx, arg string) error {
			v, ok := scanInts(arg, 3)
			if !ok {
				return syscall.EINVAL
			}
			pid, err := c.fstpActor(v[0], v[1])
			if err != nil {
				return err
			}
			c.sw.Sys.Root.Send(pid, &fstp.SetBonus{Port: v[1], Cost: v[2]})
			return nil
		}},
		console.Command{Path: "fstp/print", Syntax: "[N]", Help: "print fst data for the defined vlan", Kind: console.WithFile, Run: c.fstpPrint},
	)
}

func (c *Console) fstpActors() (*fabric.FSTPActors, error) {
	r, err := c.ask(&fabric.GetFSTPActors{})
	if err != nil {
		return nil, err
	}
	return r.(*fabric.FSTPActors), nil
}

// fstpActor validates (vlan, port) as fstp/setedge and fstp/bonus do and
// returns the VLAN's FSTP actor.
func (c *Console) fstpActor(vlan, port int) (*actor.PID, error) {
	st, err := c.stats()
	if err != nil {
		return nil, err
	}
	if vlan < 0 || vlan > 4094 || port < 0 || port >= st.NumPorts {
		return nil, syscall.EINVAL
	}
	a, err := c.fstpActors()
	if err != nil {
		return nil, err
	}
	for i, id := range a.VLANs {
		if int(id) == vlan {
			return a.PIDs[i], nil
		}
	}
	return nil, syscall.ENXIO
}

// fstpPrint prints each VLAN's spanning-tree data, as its FSTP actor has it.
func (c *Console) fstpPrint(x *console.Ctx, arg string) error {
	one := -1
	if strings.TrimSpace(arg) != "" {
		if one = atoi(arg); one < 0 || one > 4094 {
			return syscall.EINVAL
		}
	}
	a, err := c.fstpActors()
	if err != nil {
		return err
	}
	found := false
	for i, id := range a.VLANs {
		if one >= 0 && int(id) != one {
			continue
		}
		found = true
		r, err := c.sw.Sys.Root.RequestFuture(a.PIDs[i], &fstp.GetInfo{}, 5*time.Second).Result()
		if err != nil {
			return err
		}
		info := r.(*fstp.Info)
		root, disabled := "", ""
		if info.RootPort == 0 {
			root = "ROOTSWITCH"
		}
		if !info.On {
			disabled = "FSTP IS DISABLED"
		}
		x.Printf("FST DATA VLAN %04d %s %s", id, root, disabled)
		x.Printf(" ++ root %s", info.Root)
		x.Printf(" ++ designated %s", info.Designated)
		x.Printf(" ++ rootport %04d cost %d age %d bonusport %04d bonuscost %d", info.RootPort, info.Cost, info.Age, info.BonusPort, info.BonusCost)
		for _, p := range info.Ports {
			x.Printf(" -- Port %04d tagged=%d portcost=%d role=%s", p.Port, b2i(p.Tagged), fstp.PortCost, p.Role)
		}
	}
	if one >= 0 && !found {
		return syscall.ENXIO
	}
	return nil
}
