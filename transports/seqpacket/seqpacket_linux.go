// Package seqpacket is the seqpacket:// module: an endpoint on an
// already-open SOCK_SEQPACKET socket whose descriptor the process inherited
// (typically one end of a socketpair made by a parent), one frame per
// packet (spec vdeplug-and-tools.md §2.10).
//
//	seqpacket://FD
//
// FD is a number in C notation (decimal, 0x hex, leading-0 octal). The
// endpoint owns the descriptor from then on and closes it on Close. When
// the peer closes its end, reading reports io.EOF. Writes wait for the
// socket (backpressure, like the blocking send of vdeplug4); zero-length
// frames are never sent (a zero-length packet reads as the end). Frames up
// to frames.MaxJumbo cross.
package seqpacket

import (
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/internal/fdio"
	"github.com/govde/govde/transports/internal/openerr"
	"github.com/govde/govde/transports/vnl"
)

// MaxFrame is the longest frame a seqpacket:// endpoint moves.
const MaxFrame = frames.MaxJumbo

// Endpoint is a seqpacket:// endpoint. It implements transports.Endpoint
// and transports.DropCounter; see fdio.Packet for the concurrency rules.
type Endpoint struct {
	*fdio.Packet
}

// ParseFD parses the module argument as C's strtol(arg, NULL, 0) would,
// but refuses what strtol would quietly turn into another number (empty
// text, trailing garbage, negative numbers).
func ParseFD(arg string) (int, error) {
	s := strings.TrimSpace(arg)
	base := 10
	switch {
	case strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X"):
		s, base = s[2:], 16
	case len(s) > 1 && s[0] == '0':
		s, base = s[1:], 8
	}
	n, err := strconv.ParseInt(s, base, 32)
	if err != nil || n < 0 || s == "" || s[0] == '+' || s[0] == '-' {
		return -1, openerr.New(syscall.EINVAL, "%q is not a file descriptor number: the syntax is seqpacket://FD", arg)
	}
	return int(n), nil
}

// Open is the seqpacket module's vnl.Opener. It checks that the descriptor
// is open and is a SOCK_SEQPACKET socket, then takes it over; a.MaxFrame
// bounds the frames read. It is not registered by this package.
func Open(arg string, a vnl.Args) (transports.Endpoint, error) {
	fd, err := ParseFD(arg)
	if err != nil {
		return nil, err
	}
	e, err := New(fd, a.MaxFrame, "seqpacket://"+arg)
	if err != nil {
		return nil, err
	}
	return e, nil
}

// New takes over fd, which must be an open SOCK_SEQPACKET socket. On
// success the endpoint owns fd; on error fd is left alone.
func New(fd, maxFrame int, descr string) (*Endpoint, error) {
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	switch {
	case err == unix.EBADF:
		return nil, openerr.New(syscall.EBADF, "file descriptor %d is not open", fd)
	case err == unix.ENOTSOCK:
		return nil, openerr.New(syscall.ENOTSOCK, "file descriptor %d is not a socket", fd)
	case err != nil:
		errno := openerr.Errno(err, syscall.EINVAL)
		return nil, openerr.New(errno, "file descriptor %d", fd)
	case typ != unix.SOCK_SEQPACKET:
		return nil, openerr.New(syscall.EPROTOTYPE, "file descriptor %d is a %s socket, not SOCK_SEQPACKET", fd, typeName(typ))
	}
	unix.CloseOnExec(fd)
	p, err := fdio.New(fd, fdio.Config{MaxFrame: maxFrame, Descr: descr, BlockingWrites: true, EOFOnZero: true})
	if err != nil {
		return nil, err
	}
	return &Endpoint{Packet: p}, nil
}

func typeName(t int) string {
	switch t {
	case unix.SOCK_STREAM:
		return "SOCK_STREAM"
	case unix.SOCK_DGRAM:
		return "SOCK_DGRAM"
	case unix.SOCK_RAW:
		return "SOCK_RAW"
	}
	return "type " + strconv.Itoa(t)
}
