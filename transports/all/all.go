// Package all registers every VNL module govde implements with the vnl
// registry. Front-ends import it once; each module package stays free of
// init-time side effects.
package all

import (
	"os"
	"strconv"
	"syscall"

	node "github.com/govde/govde/actors/netnode"
	"github.com/govde/govde/transports"
	vnlcmd "github.com/govde/govde/transports/cmd"
	"github.com/govde/govde/transports/cryptcab"
	"github.com/govde/govde/transports/netnode"
	"github.com/govde/govde/transports/null"
	"github.com/govde/govde/transports/ptp"
	"github.com/govde/govde/transports/qemu"
	"github.com/govde/govde/transports/seqpacket"
	"github.com/govde/govde/transports/slirp"
	"github.com/govde/govde/transports/tap"
	"github.com/govde/govde/transports/udp"
	"github.com/govde/govde/transports/vde2"
	"github.com/govde/govde/transports/vnl"
	"github.com/govde/govde/transports/vxlan"
	"github.com/govde/govde/transports/vxvde"
)

func init() {
	vnl.Register("vde", OpenVDE)
	vnl.Register("null", null.Open)
	vnl.Register("cryptcab", cryptcab.Open)
	vnl.Register("tap", tap.Open)
	vnl.Register("udp", udp.Open)
	vnl.Register("ptp", ptp.Open)
	vnl.Register("seqpacket", seqpacket.Open)
	vnl.Register("cmd", vnlcmd.Open)
	vnl.Register("qemu-stream", qemu.OpenStream)
	vnl.Register("qemu-dgram", qemu.OpenDgram)
	vnl.Register(vxlan.Module, vxlan.Open)
	vnl.Register(vxvde.Module, vxvde.Open)
	vnl.Register(slirp.Module, slirp.Open)
	vnl.Register(node.Hub.String(), netnode.OpenHub)
	vnl.Register(node.Switch.String(), netnode.OpenSwitch)
	vnl.Register(node.Multi.String(), netnode.OpenMulti)
	vnl.Register(node.Bonding.String(), netnode.OpenBonding)
}

// vdeKeys are the bracket options of vde:// (vdeplug4 order: prefixes
// resolve to the first match).
var vdeKeys = []string{"port", "portgroup", "group", "mode"}

// OpenVDE opens `vde://PATH[opts]`: a client of a vde_switch (or of any
// govde netnode/switch) at PATH. a.Descr is the description vnl.Open built.
func OpenVDE(arg string, a vnl.Args) (transports.Endpoint, error) {
	path, opts, _, err := vnl.ParseBracket(arg, vdeKeys, true)
	if err != nil {
		return nil, err
	}
	cfg := vde2.ClientConfig{Path: path, Port: a.Port, Group: a.Group, Mode: a.Mode, Descr: a.Descr, DescrDone: true, MaxFrame: a.MaxFrame}
	if pg, ok := opts.Last("", "port", "portgroup"); ok {
		cfg.PortGroup = pg
	}
	if g, ok := opts.Last("group"); ok {
		cfg.Group = g
	}
	if m, ok := opts.Last("mode"); ok {
		v, err := strconv.ParseUint(m, 8, 32)
		if err != nil {
			return nil, &os.PathError{Op: "mode", Path: m, Err: syscall.EINVAL}
		}
		cfg.Mode = os.FileMode(v)
	}
	return vde2.Dial(cfg)
}
