package tap

import (
	"syscall"

	"github.com/govde/govde/transports/internal/openerr"
)

// The operations an *Error reports, as the C tools name them in their
// messages ("Failed to open /dev/net/tun …", "TUNSETIFF failed …").
const (
	OpOpen   = "open /dev/net/tun"
	OpSetIff = "TUNSETIFF"
)

// Error is a failure to open a tap. Its text is the C strerror text of
// Errno followed by what exactly is wrong, naming the interface:
// "Operation not permitted: tap tap0 does not exist and creating it needs
// CAP_NET_ADMIN (…)". errors.Is(err, syscall.EPERM) and the like hold; the
// error deliberately does not unwrap to its errno (see
// transports/internal/openerr).
type Error struct {
	Name   string        // the interface asked for ("" = any)
	Op     string        // OpOpen or OpSetIff: which step failed
	Errno  syscall.Errno // what the kernel (or the C module) says
	Detail string        // the problem in words
}

// Error returns "<strerror>: <detail>".
func (e *Error) Error() string {
	return (&openerr.Error{Errno: e.Errno, Detail: e.Detail}).Error()
}

// Is reports whether target is e's errno.
func (e *Error) Is(target error) bool {
	t, ok := target.(syscall.Errno)
	return ok && t == e.Errno
}
