package mgmt

import (
	"strings"
	"syscall"

	"github.com/govde/govde/actors/fabric"
	"github.com/govde/govde/console"
	"github.com/govde/govde/frames"
)

func (c *Console) hashCmds() {
	setParam := func(which string) func(*console.Ctx, string) error {
		return func(_ *console.Ctx, arg string) error {
			n := atoi(arg)
			m := &fabric.SetTableParams{GCInterval: -1, Expire: -1, MinPersist: -1}
			switch which {
			case "gc":
				m.GCInterval = n
			case "expire":
				m.Expire = n
			case "minper":
				m.MinPersist = n
			}
			return c.result(m)
		}
	}
	c.Reg.Add(
		console.Command{Path: "hash", Help: "HASH TABLE MENU", Kind: console.Menu},
		console.Command{Path: "hash/showinfo", Help: "show hash info", Kind: console.WithFile, Run: func(x *console.Ctx, _ string) error {
			r, err := c.ask(&fabric.GetTableInfo{})
			if err != nil {
				return err
			}
			t := r.(*fabric.TableInfo)
			x.Printf("Hash size %d", t.Size)
			x.Printf("GC interval %d secs", t.GCInterval)
			x.Printf("GC expire %d secs", t.Expire)
			x.Printf("Min persistence %d secs", t.MinPersist)
			return nil
		}},
		console.Command{Path: "hash/setsize", Syntax: "N", Help: "change hash size", Kind: console.Plain, Run: func(_ *console.Ctx, arg string) error {
			n := atoi(arg)
			if n <= 0 {
				return syscall.EINVAL
			}
			if p := fabric.RoundPow2(n); p != n {
				c.info.Logf("Hash size must be a power of 2. %d rounded to %d", n, p)
			}
			return c.result(&fabric.SetTableParams{Size: n, GCInterval: -1, Expire: -1, MinPersist: -1})
		}},
		console.Command{Path: "hash/setgcint", Syntax: "N", Help: "change garbage collector interval", Kind: console.Plain, Run: setParam("gc")},
		console.Command{Path: "hash/setexpire", Syntax: "N", Help: "change hash entries expire time", Kind: console.Plain, Run: setParam("expire")},
		console.Command{Path: "hash/setminper", Syntax: "N", Help: "minimum persistence time", Kind: console.Plain, Run: setParam("minper")},
		console.Command{Path: "hash/print", Help: "print the hash table", Kind: console.WithFile, Run: func(x *console.Ctx, _ string) error {
			r, err := c.ask(&fabric.GetTable{})
			if err != nil {
				return err
			}
			for _, e := range r.(*fabric.TableDump).Entries {
				printEntry(x, e)
			}
			return nil
		}},
		console.Command{Path: "hash/find", Syntax: "MAC [VLAN]", Help: "MAC lookup", Kind: console.WithFile, Run: func(x *console.Ctx, arg string) error {
			f := strings.Fields(arg)
			if len(f) == 0 {
				return syscall.EINVAL
			}
			m, err := frames.ParseMAC(f[0])
			if err != nil {
				return syscall.EINVAL
			}
			vlan := 0
			if len(f) > 1 {
				vlan = atoi(f[1])
			}
			r, err := c.ask(&fabric.FindMAC{MAC: m, VLAN: uint16(vlan)})
			if err != nil {
				return err
			}
			found := r.(*fabric.Found)
			if !found.OK {
				return syscall.ENODEV
			}
			printEntry(x, found.Entry)
			return nil
		}},
	)
}

func printEntry(x *console.Ctx, e fabric.Entry) {
	x.Printf("Hash: %04d Addr: %s VLAN %04d to port: %03d  age %d secs", e.Bucket, e.MAC, e.VLAN, e.Port, e.Age)
}
