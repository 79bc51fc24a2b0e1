package mgmt

import (
	"strings"
	"syscall"

	"github.com/govde/govde/actors/fabric"
	"github.com/govde/govde/console"
)

// portCost is FSTP's fixed port cost.
const portCost = 20000000

func (c *Console) fstpCmds() {
	c.Reg.Add(
		console.Command{Path: "fstp", Help: "FAST SPANNING TREE MENU", Kind: console.Menu},
		console.Command{Path: "fstp/showinfo", Help: "show fstp info", Kind: console.WithFile, Run: func(x *console.Ctx, _ string) error {
			x.Printf("MAC %s Priority %d (0x%x)", c.info.MAC, c.info.Priority, c.info.Priority)
			x.Printf("FSTP=%t", c.FSTP())
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
			c.mu.Lock()
			c.fstp = atoi(arg) != 0
			c.mu.Unlock()
			return nil
		}},
		console.Command{Path: "fstp/setedge", Syntax: "VLAN PORT 1/0", Help: "Define an edge port for a vlan 1=Y 0=N", Kind: console.Plain, Run: func(_ *console.Ctx, arg string) error {
			v, ok := scanInts(arg, 3)
			if !ok {
				return syscall.EINVAL
			}
			if err := c.checkVLANPort(v[0], v[1]); err != nil {
				return err
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			if v[2] != 0 {
				c.edges[[2]int{v[0], v[1]}] = true
			} else {
				delete(c.edges, [2]int{v[0], v[1]})
			}
			return nil
		}},
		console.Command{Path: "fstp/bonus", Syntax: "VLAN PORT COST", Help: "set the port bonus for a vlan", Kind: console.Plain, Run: func(_ *console.Ctx, arg string) error {
			v, ok := scanInts(arg, 3)
			if !ok {
				return syscall.EINVAL
			}
			if err := c.checkVLANPort(v[0], v[1]); err != nil {
				return err
			}
			c.mu.Lock()
			c.bonus[v[0]] = [2]int{v[1], v[2]}
			c.mu.Unlock()
			return nil
		}},
		console.Command{Path: "fstp/print", Syntax: "[N]", Help: "print fst data for the defined vlan", Kind: console.WithFile, Run: c.fstpPrint},
	)
}

func (c *Console) checkVLANPort(vlan, port int) error {
	st, err := c.stats()
	if err != nil {
		return err
	}
	if vlan < 0 || vlan > 4094 || port < 0 || port >= st.NumPorts {
		return syscall.EINVAL
	}
	r, err := c.ask(&fabric.GetVLANs{})
	if err != nil {
		return err
	}
	for _, v := range r.(*fabric.VLANs).VLANs {
		if int(v.ID) == vlan {
			return nil
		}
	}
	return syscall.ENXIO
}

// fstpPrint prints each VLAN's spanning-tree data. Until the FSTP actor
// runs (fstp issue) every VLAN is in its reset state: this switch is root.
func (c *Console) fstpPrint(x *console.Ctx, arg string) error {
	one := -1
	if strings.TrimSpace(arg) != "" {
		if one = atoi(arg); one < 0 || one > 4094 {
			return syscall.EINVAL
		}
	}
	r, err := c.ask(&fabric.GetVLANs{})
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	disabled := "FSTP IS DISABLED"
	if c.fstp {
		disabled = ""
	}
	found := false
	for _, v := range r.(*fabric.VLANs).VLANs {
		if one >= 0 && int(v.ID) != one {
			continue
		}
		found = true
		b := c.bonus[int(v.ID)]
		x.Printf("FST DATA VLAN %04d %s %s", v.ID, "ROOTSWITCH", disabled)
		x.Printf(" ++ root %s", bridgeID(c.info.Priority, c.info.MAC[:]))
		x.Printf(" ++ designated ff:ff:ff:ff:ff:ff:ff:ff")
		x.Printf(" ++ rootport 0000 cost 0 age %d bonusport %04d bonuscost %d", c.info.Uptime(), b[0], b[1])
		for _, tagged := range []bool{false, true} {
			for _, m := range v.Members {
				if m.Tagged != tagged || !m.Active {
					continue
				}
				role := "Designated"
				switch {
				case c.edges[[2]int{int(v.ID), m.Port}]:
					role = "Edge"
				case m.Blocked:
					role = "Alternate/Backup"
				}
				x.Printf(" -- Port %04d tagged=%d portcost=%d role=%s", m.Port, b2i(m.Tagged), portCost, role)
			}
		}
	}
	if one >= 0 && !found {
		return syscall.ENXIO
	}
	return nil
}

// bridgeID formats priority and MAC as FSTP's 8-byte bridge id.
func bridgeID(prio int, mac []byte) string {
	b := []byte{byte(prio >> 8), byte(prio)}
	b = append(b, mac...)
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 23)
	for i, v := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, hex[v>>4], hex[v&15])
	}
	return string(out)
}
