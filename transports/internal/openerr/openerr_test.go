package openerr

import (
	"errors"
	"fmt"
	"syscall"
	"testing"
)

func TestError(t *testing.T) {
	err := New(syscall.EPERM, "creating tap %s needs CAP_NET_ADMIN", "t0")
	if got, want := err.Error(), "Operation not permitted: creating tap t0 needs CAP_NET_ADMIN"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
		t.Fatal("errors.Is does not match the errno alone")
	}
	// The front-ends print only strerror for errors that wrap an Errno:
	// this one must not.
	var e syscall.Errno
	if errors.As(err, &e) {
		t.Fatal("Error unwraps to its errno")
	}
	wrapped := fmt.Errorf("x: %w", err)
	if !errors.Is(wrapped, syscall.EPERM) {
		t.Fatal("Is lost through a wrapper")
	}
	if got := (&Error{Errno: syscall.ENOENT}).Error(); got != "No such file or directory" {
		t.Fatalf("no detail: %q", got)
	}
}

func TestErrno(t *testing.T) {
	if got := Errno(fmt.Errorf("a: %w", syscall.EBUSY), syscall.EIO); got != syscall.EBUSY {
		t.Fatalf("Errno = %v", got)
	}
	if got := Errno(errors.New("plain"), syscall.EIO); got != syscall.EIO {
		t.Fatalf("fallback = %v", got)
	}
}
