// Package qemu lets a QEMU built without libvdeplug join a govde network
// through its own socket backends (QEMU 7.2 and later), two VNL modules
// that go beyond vdeplug4:
//
// qemu-stream:// speaks QEMU's -netdev stream framing (and that of the
// older -netdev socket,listen=/connect=): every frame preceded by its
// length as a 32-bit big-endian number, over a unix or TCP stream
// connection. Either side may listen:
//
//	qemu-stream:///run/vm1.sock            connect to QEMU, which listens:
//	    -netdev stream,id=n0,server=on,addr.type=unix,addr.path=/run/vm1.sock
//	qemu-stream:///run/vm1.sock[listen]    listen; QEMU connects:
//	    -netdev stream,id=n0,server=off,addr.type=unix,addr.path=/run/vm1.sock
//	qemu-stream://127.0.0.1:5555[listen]   the same over TCP:
//	    -netdev stream,id=n0,server=off,addr.type=inet,addr.host=127.0.0.1,addr.port=5555
//	qemu-stream://@vm1                     abstract unix socket (addr.abstract=on)
//
// An address containing '/' or starting with '@' is a unix socket, anything
// else HOST:PORT (split at the last ':', so IPv6 is written without
// brackets: ::1:5555). Bracket options: listen, mode=OCTAL and group=GROUP
// for a listening unix socket (default: vde_plug's -m/-g).
//
// qemu-dgram:// speaks -netdev dgram: one frame per datagram, no header,
// over UDP or unix datagram sockets:
//
//	qemu-dgram://[LOCAL]->REMOTE
//	qemu-dgram://127.0.0.1:5001->127.0.0.1:5000
//	    -netdev dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=5000,remote.type=inet,remote.host=127.0.0.1,remote.port=5001
//	qemu-dgram:///run/vde.sock->/run/vm1.sock
//	    -netdev dgram,id=n0,local.type=unix,local.path=/run/vm1.sock,remote.type=unix,remote.path=/run/vde.sock
//
// LOCAL is where QEMU sends (its remote), REMOTE where QEMU listens (its
// local); over UDP LOCAL may be just a port, or empty for an ephemeral one.
// As udp:// does, the socket connects to REMOTE when it first sends, and
// from then on accepts only REMOTE's datagrams. QEMU's multicast dgram
// mode is not supported.
//
// Both carry frames up to MaxFrame (QEMU's buffers take 69632 bytes).
package qemu

import (
	"errors"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/internal/openerr"
	"github.com/govde/govde/transports/vnl"
)

// MaxFrame is the longest frame either module moves.
const MaxFrame = frames.MaxJumbo

// streamKeys are qemu-stream's bracket options.
var streamKeys = []string{"listen", "mode", "group"}

// OpenStream is the qemu-stream module's vnl.Opener. a.Mode and a.Group
// are the defaults of mode= and group=; a.MaxFrame bounds the frames. It
// is not registered by this package.
func OpenStream(arg string, a vnl.Args) (transports.Endpoint, error) {
	addr, opts, _, err := vnl.ParseBracket(arg, streamKeys, false)
	if err != nil {
		var ke *vnl.KeyError
		if errors.As(err, &ke) {
			return nil, openerr.New(syscall.EINVAL, "unknown option %q for qemu-stream (options: listen, mode=OCTAL, group=GROUP)", ke.Key)
		}
		return nil, err
	}
	network, address, err := splitAddr(addr, "qemu-stream://PATH or qemu-stream://HOST:PORT, [listen] to listen")
	if err != nil {
		return nil, err
	}
	cfg := StreamConfig{Network: network, Address: address, Mode: a.Mode, GID: -1, MaxFrame: a.MaxFrame,
		Descr: "qemu-stream://" + arg}
	if _, ok := opts.Last("listen"); ok {
		cfg.Listen = true
	}
	if m, ok := opts.Last("mode"); ok {
		v, err := strconv.ParseUint(m, 8, 32)
		if err != nil || v > 0777 {
			return nil, openerr.New(syscall.EINVAL, "mode=%s is not an octal permission", m)
		}
		cfg.Mode = os.FileMode(v) // 0: leave what the umask gives
	}
	group := a.Group
	if g, ok := opts.Last("group"); ok {
		group = g
	}
	if group != "" {
		if cfg.GID, err = lookupGroup(group); err != nil {
			return nil, err
		}
	}
	s, err := NewStream(cfg)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// splitAddr decides between a unix socket and HOST:PORT.
func splitAddr(addr, syntax string) (network, address string, err error) {
	switch {
	case addr == "":
		return "", "", openerr.New(syscall.EINVAL, "missing address: the syntax is %s", syntax)
	case strings.Contains(addr, "/") || abstract(addr):
		if len(addr) > 107 {
			return "", "", openerr.New(syscall.ENAMETOOLONG, "socket path %s is longer than 107 bytes", addr)
		}
		return "unix", addr, nil
	}
	i := strings.LastIndexByte(addr, ':')
	if i < 0 || i == len(addr)-1 {
		return "", "", openerr.New(syscall.EINVAL, "%q is neither a socket path nor HOST:PORT: the syntax is %s", addr, syntax)
	}
	host, port := addr[:i], addr[i+1:]
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", "", openerr.New(syscall.EINVAL, "bad port %q in %q", port, addr)
	}
	return "tcp", joinHostPort(host, port), nil
}

func joinHostPort(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}

// abstract reports whether a unix address names an abstract socket.
func abstract(addr string) bool { return strings.HasPrefix(addr, "@") }

func lookupGroup(name string) (int, error) {
	if g, err := user.LookupGroup(name); err == nil {
		return strconv.Atoi(g.Gid)
	}
	if n, err := strconv.Atoi(name); err == nil && n >= 0 {
		return n, nil
	}
	return -1, openerr.New(syscall.EINVAL, "no such group %q", name)
}
