package main

import (
	"github.com/govde/govde/actors/fabric"
	"github.com/govde/govde/actors/vswitch"
	"github.com/govde/govde/transports/dgram"
	"github.com/govde/govde/transports/tap"
)

// attachTaps opens each `vde_switch -t` tap and puts it on a free port as
// vde_switch's tuntap module does: module "tuntap", user -1 (so a free
// port's access control does not apply), description = the tap name,
// endpoint id = its fd. Frames longer than maxFrame (0: vde_switch's 1518)
// are truncated, as on the switch's data sockets. A tap that cannot be
// opened is reported in one line naming it and the reason, and skipped:
// the switch keeps running, as the original does.
func attachTaps(sw *vswitch.Switch, names []string, maxFrame int, logf func(string, ...any)) {
	if maxFrame <= 0 {
		maxFrame = dgram.DefaultMaxFrame
	}
	for _, name := range names {
		d, err := tap.New(tap.Config{Name: name, MaxFrame: maxFrame})
		if err != nil {
			logf("ERROR OPENING tap interface %s: %v", name, err)
			continue
		}
		m := &fabric.AttachEndpoint{Endpoint: d, ID: d.Fd(), Module: "tuntap", Descr: d.Name(), UID: -1}
		if _, err := sw.AttachEndpoint(m); err != nil {
			d.Close()
			logf("tap interface %s: no port: %v", name, err)
		}
	}
}
