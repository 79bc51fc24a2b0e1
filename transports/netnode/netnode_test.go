package netnode

import (
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	node "github.com/govde/govde/actors/netnode"
	"github.com/govde/govde/transports/vnl"
)

func TestParseVNL(t *testing.T) {
	dir := t.TempDir()
	c, err := ParseVNL(node.Switch, dir+"/n", vnl.Args{})
	if err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.EvalSymlinks(dir)
	want := Config{Kind: node.Switch, Path: real + "/n", Mode: 0600, DirMode: 02700, Group: -1}
	if c.Path != want.Path || c.Mode != want.Mode || c.DirMode != want.DirMode || c.Group != -1 || c.Kind != node.Switch {
		t.Fatalf("defaults %+v", c)
	}
	// The default path names the user.
	c, err = ParseVNL(node.Hub, "", vnl.Args{})
	u, _ := user.Current()
	if err != nil || c.Path != DefaultPathPrefix+u.Username {
		t.Fatalf("default path %q %v", c.Path, err)
	}
	// mode drops execute bits and derives dirmode; dirmode overrides.
	c, err = ParseVNL(node.Hub, dir+"/n[mode=0771]", vnl.Args{})
	if err != nil || c.Mode != 0660 || c.DirMode != 02770 {
		t.Fatalf("mode=0771: %o %o %v", c.Mode, c.DirMode, err)
	}
	c, err = ParseVNL(node.Hub, dir+"/n[m=0640/dirm=2711/grp=root/hashsize=1000/hashseed=7/exp=9]", vnl.Args{})
	if err != nil || c.Mode != 0640 || c.DirMode != 02711 || c.Group != 0 || c.HashSize != 1000 || c.HashSeed != 7 || c.Expire != 9 {
		t.Fatalf("options %+v %v", c, err)
	}
	// vde_plug -m/-g (open args) are the defaults, as in vdeplug HEAD.
	c, err = ParseVNL(node.Multi, dir+"/n", vnl.Args{Mode: 0770, Group: "0", MaxFrame: 9000})
	if err != nil || c.Mode != 0660 || c.DirMode != 02770 || c.Group != 0 || c.MaxFrame != 9000 {
		t.Fatalf("open args %+v %v", c, err)
	}
	c, err = ParseVNL(node.Multi, dir+"/n", vnl.Args{Mode: 0700}) // vde_plug's default
	if err != nil || c.Mode != 0600 || c.DirMode != 02700 {
		t.Fatalf("vde_plug default mode: %o %o", c.Mode, c.DirMode)
	}
	// The directory part is resolved (it must exist).
	os.Symlink(dir, dir+"/link")
	if c, err = ParseVNL(node.Hub, dir+"/link/x/", vnl.Args{}); err != nil || c.Path != real+"/x" {
		t.Fatalf("realpath: %q %v", c.Path, err)
	}
	if _, err = ParseVNL(node.Hub, dir+"/missing/x", vnl.Args{}); !os.IsNotExist(err) {
		t.Fatalf("missing directory: %v", err)
	}
	for arg, msg := range map[string]string{
		"[foo=1]":         `hub: unknown option "foo"`,
		"[mode=9]":        `hub: option mode="9": want an octal permission`,
		"[dirmode=x]":     `hub: option dirmode="x"`,
		"[grp=no-such-9]": `hub: option grp="no-such-9": no such group`,
		"[hashsize=big]":  `hub: option hashsize="big": want a number`,
		"[expiretime=-1]": `option expiretime="-1"`,
	} {
		_, err := ParseVNL(node.Hub, dir+"/n"+arg, vnl.Args{})
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: error %v, want %q", arg, err, msg)
		}
	}
}
