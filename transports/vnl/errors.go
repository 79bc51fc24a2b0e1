package vnl

import (
	"fmt"
	"syscall"
)

// ModuleError reports a VNL whose module is not registered. Its text is
// the C strerror text of EPROTONOSUPPORT, so a caller printing
// "vde_open <vnl>: <err>" reproduces vde_plug's message; errors.Is(err,
// syscall.EPROTONOSUPPORT) holds.
type ModuleError struct {
	Module string
}

// Error returns "Protocol not supported" (strerror(EPROTONOSUPPORT)).
func (e *ModuleError) Error() string { return "Protocol not supported" }

// Unwrap returns syscall.EPROTONOSUPPORT.
func (e *ModuleError) Unwrap() error { return syscall.EPROTONOSUPPORT }

// KeyError reports an option key that matches no entry of the module's
// table. Its text is the line vdeplug4 4.0.1 prints on stderr, typo
// included: "unknwown key: <key>"; errors.Is(err, syscall.EINVAL) holds.
// To reproduce vde_plug's output exactly, a caller prints that line and
// then "vde_open <vnl>: Invalid argument".
type KeyError struct {
	Key string
}

// Error returns "unknwown key: " followed by the key.
func (e *KeyError) Error() string { return "unknwown key: " + e.Key }

// Unwrap returns syscall.EINVAL.
func (e *KeyError) Unwrap() error { return syscall.EINVAL }

// ErrNoNested is returned by ParseNested when the argument has no
// unquoted '{'. errors.Is(ErrNoNested, syscall.EINVAL) holds.
var ErrNoNested = fmt.Errorf("missing nested VNL: %w", syscall.EINVAL)
