package qemu

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/transports/internal/openerr"
)

// removeStale removes path if it is a socket of the given type nobody
// answers on (left by a process that died), and refuses to touch a live
// socket or a file that is not a socket.
func removeStale(path string, typ int) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return openerr.New(syscall.EEXIST, "%s exists and is not a socket", path)
	}
	probe, err := unix.Socket(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(probe)
	switch err := unix.Connect(probe, &unix.SockaddrUnix{Name: path}); err {
	case nil, unix.EPERM: // EPERM: a datagram socket connected to its peer
		return openerr.New(syscall.EADDRINUSE, "%s is in use by another process", path)
	case unix.ECONNREFUSED:
		os.Remove(path)
	}
	return nil
}
