// Package all registers every VNL module govde implements with the vnl
// registry. Front-ends import it once; each module package stays free of
// init-time side effects.
package all

import (
	"os"
	"strconv"
	"syscall"

	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/null"
	"github.com/govde/govde/transports/vde2"
	"github.com/govde/govde/transports/vnl"
)

func init() {
	vnl.Register("vde", OpenVDE)
	vnl.Register("null", null.Open)
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
