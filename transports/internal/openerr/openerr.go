// Package openerr is the error type the govde modules return when an open
// fails: one line that names the problem, and an errno for errors.Is.
//
// vde_plug prints "vde_open <VNL>: <error>". When an error wraps a
// syscall.Errno, the front-end prints only the C strerror text of that
// errno, as vdeplug4 does; an *Error deliberately does not wrap its errno
// (it has no Unwrap, only Is), so its whole text, strerror text first, then
// what exactly went wrong, reaches the user.
package openerr

import (
	"errors"
	"fmt"
	"syscall"
)

// Error is an open failure: Errno is what the C module would have set,
// Detail says what exactly is wrong ("" for nothing more to say).
type Error struct {
	Errno  syscall.Errno
	Detail string
}

// Error returns "<strerror>: <detail>", e.g. "Permission denied: creating
// tap tap0 needs CAP_NET_ADMIN".
func (e *Error) Error() string {
	if e.Detail == "" {
		return Strerror(e.Errno)
	}
	return Strerror(e.Errno) + ": " + e.Detail
}

// Is reports whether target is e's errno, so errors.Is(err, syscall.EPERM)
// works although Error does not unwrap to it.
func (e *Error) Is(target error) bool {
	t, ok := target.(syscall.Errno)
	return ok && t == e.Errno
}

// New returns an *Error with the detail formatted from format and args.
func New(errno syscall.Errno, format string, args ...any) error {
	return &Error{Errno: errno, Detail: fmt.Sprintf(format, args...)}
}

// Strerror returns the glibc text of e ("Operation not permitted"): Go's
// text with its first letter upper-cased.
func Strerror(e syscall.Errno) string {
	s := e.Error()
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// Errno returns the syscall.Errno inside err, or fallback when there is
// none.
func Errno(err error, fallback syscall.Errno) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return fallback
}
