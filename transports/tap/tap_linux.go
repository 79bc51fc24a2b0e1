// Package tap is the tap:// module: an endpoint on a Linux tap interface
// (/dev/net/tun, IFF_TAP|IFF_NO_PI), opened through
// github.com/songgao/water, moving raw Ethernet frames of any size up to
// the interface's MTU, jumbo frames included (a tap's MTU goes up to 65521,
// so frames up to frames.MaxJumbo).
//
// It is also what `vde_switch -t IF` attaches as a switch port and what
// `vde_plug2tap` plugs into a network.
//
// Opening a tap needs CAP_NET_ADMIN, unless the tap already exists and
// belongs to the user (ip tuntap add mode tap user U name IF). Open checks
// this beforehand and says precisely what is missing instead of a bare
// "Operation not permitted".
package tap

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/songgao/water"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/internal/fdio"
	"github.com/govde/govde/transports/vnl"
)

// Config says which tap to open.
type Config struct {
	// Name is the interface name; "" lets the kernel pick one (tapN), and a
	// name with "%d" is a template the kernel fills in.
	Name string
	// MaxFrame is the longest frame read from the tap; longer ones are
	// truncated to it. 0 means MaxFrame (the largest a tap can carry).
	MaxFrame int
	// Descr is what Describe returns; "" means the interface name.
	Descr string
	// Plain opens the tap without the offloads (no IFF_VNET_HDR): one
	// frame per read and write, as vde2 does. Without it New asks for the
	// offloads unless GOVDE_TAP_OFFLOAD=0, and falls back to plain mode
	// (with one log line) when the kernel refuses them.
	Plain bool
}

// MaxFrame is the longest frame a tap carries: its MTU can be set up to
// 65521 (65535 minus the Ethernet header), so frames reach 65535 bytes.
const MaxFrame = frames.MaxJumbo

// Device is an open tap. It implements transports.Endpoint,
// transports.NonBlocking (writing to a tap hands the frame to the kernel's
// receive path and never waits for space) and transports.DropCounter.
//
// Concurrency: one goroutine may read while another writes; Close may be
// called from any goroutine and unblocks a pending ReadBatch.
type Device struct {
	*fdio.Packet
	name    string
	offload bool
}

// Open is the tap module's vnl.Opener: tap://IFNAME. The whole argument is
// the interface name (no unquoting, as in vdeplug4), except a trailing
// option list [offload=0] or [offload=1] (govde); a.MaxFrame limits the
// frames read. It is not registered by this package.
func Open(arg string, a vnl.Args) (transports.Endpoint, error) {
	name, plain, err := parseArg(arg)
	if err != nil {
		return nil, err
	}
	d, err := New(Config{Name: name, MaxFrame: a.MaxFrame, Plain: plain})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// New opens (creating it if needed, when allowed) the tap cfg.Name. Errors
// are *Error values naming the interface and what is missing.
//
// A tap that was persistent before New stays persistent (water clears the
// flag unless asked to keep it); one that New creates disappears when the
// Device is closed.
func New(cfg Config) (*Device, error) {
	info, err := inspect(cfg.Name)
	if err != nil {
		return nil, err
	}
	max := cfg.MaxFrame
	if max <= 0 || max > MaxFrame {
		max = MaxFrame
	}
	if !cfg.Plain && !offloadOff() {
		d, err := openVnet(info, max, cfg.Descr)
		if !errors.Is(err, errNoOffload) {
			return d, err
		}
		logf("tap %s: no offloads, one frame per read and write (%v)", cfg.Name, err)
	}
	wc := water.Config{DeviceType: water.TAP}
	wc.Name = cfg.Name
	wc.Persist = info.persistent
	ifce, err := water.New(wc)
	if err != nil {
		return nil, info.explain(err)
	}
	f, ok := ifce.ReadWriteCloser.(*os.File)
	if !ok {
		ifce.Close()
		return nil, &Error{Name: cfg.Name, Op: OpOpen, Errno: syscall.EINVAL, Detail: "water returned no file"}
	}
	descr := cfg.Descr
	if descr == "" {
		descr = ifce.Name()
	}
	p, err := fdio.NewFile(f, fdio.Config{MaxFrame: max, Descr: descr})
	if err != nil {
		return nil, &Error{Name: cfg.Name, Op: OpOpen, Errno: syscall.EINVAL, Detail: err.Error()}
	}
	return &Device{Packet: p, name: ifce.Name()}, nil
}

// Name returns the interface name (the one the kernel picked when Config.Name
// was empty or a template).
func (d *Device) Name() string { return d.name }

// Offload reports whether the tap runs with the offloads (virtio-net
// header, TCP super-packets cut and merged here).
func (d *Device) Offload() bool { return d.offload }

// parseArg splits tap://NAME[offload=0|1] into the name and whether to open
// plain. Only a trailing [...] is an option list (a '[' elsewhere is part of
// the name, which the kernel allows).
func parseArg(arg string) (name string, plain bool, err error) {
	i := strings.LastIndexByte(arg, '[')
	if i < 0 || !strings.HasSuffix(arg, "]") {
		return arg, false, nil
	}
	name = arg[:i]
	for _, o := range strings.Split(arg[i+1:len(arg)-1], "/") {
		switch o {
		case "":
		case "offload=0", "offload=off", "offload=no":
			plain = true
		case "offload=1", "offload=on", "offload=yes", "offload":
			plain = false
		default:
			return "", false, &Error{Name: name, Op: OpSetIff, Errno: syscall.EINVAL,
				Detail: fmt.Sprintf("unknown tap option %q (tap://NAME[offload=0|1])", o)}
		}
	}
	return name, plain, nil
}

// explain turns water's error into an *Error.
func (in *tapInfo) explain(err error) error {
	op := OpOpen
	var se *os.SyscallError
	if errors.As(err, &se) {
		op = OpSetIff // water's ioctls (TUNSETIFF, then TUNSETPERSIST)
	}
	errno, ok := err.(syscall.Errno)
	if !ok && se != nil {
		errno, ok = se.Err.(syscall.Errno)
	}
	if !ok {
		return &Error{Name: in.name, Op: op, Errno: syscall.EINVAL, Detail: err.Error()}
	}
	return in.describe(op, errno)
}

var (
	_ transports.Endpoint    = (*Device)(nil)
	_ transports.NonBlocking = (*Device)(nil)
	_ transports.DropCounter = (*Device)(nil)
)
