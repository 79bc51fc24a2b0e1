package vde2

import (
	"net"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawSockaddr builds a full sockaddr_un from a sun_path.
func rawSockaddr(path *[SunPathLen]byte) *unix.RawSockaddrUnix {
	sa := &unix.RawSockaddrUnix{Family: unix.AF_UNIX}
	for i, c := range path {
		sa.Path[i] = int8(c)
	}
	return sa
}

// connectRaw connects fd to the sockaddr_un holding path, passing the full
// 110-byte length as the C code does. For a pathname this is the same as a
// normal connect; for an abstract address (path[0] == 0) the name is all
// 107 bytes after the NUL, which x/sys/unix cannot express.
func connectRaw(fd int, path *[SunPathLen]byte) error {
	sa := rawSockaddr(path)
	_, _, e := unix.Syscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(sa)), SockaddrLen)
	if e != 0 {
		return e
	}
	return nil
}

// bindRaw is connectRaw's counterpart for bind.
func bindRaw(fd int, path *[SunPathLen]byte) error {
	sa := rawSockaddr(path)
	_, _, e := unix.Syscall(unix.SYS_BIND, uintptr(fd), uintptr(unsafe.Pointer(sa)), SockaddrLen)
	if e != 0 {
		return e
	}
	return nil
}

// sunPath returns path as a NUL-padded sun_path (cut to leave a NUL).
func sunPath(path string) *[SunPathLen]byte {
	var p [SunPathLen]byte
	if len(path) > SunPathLen-1 {
		path = path[:SunPathLen-1]
	}
	copy(p[:], path)
	return &p
}

// dialStream connects a stream socket to path with a blocking connect, as
// libvdeplug does: when the listener's backlog is full the kernel makes us
// wait (bounded by timeout) instead of failing with EAGAIN as a
// non-blocking connect would.
func dialStream(path string, timeout time.Duration) (*net.UnixConn, error) {
	if len(path) > SunPathLen-1 {
		return nil, &net.OpError{Op: "dial", Net: "unix", Err: unix.ENAMETOOLONG}
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if timeout > 0 {
		tv := unix.NsecToTimeval(timeout.Nanoseconds())
		unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
	}
	for {
		err = connectRaw(fd, sunPath(path))
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		return nil, &net.OpError{Op: "dial", Net: "unix", Addr: &net.UnixAddr{Name: path, Net: "unix"},
			Err: os.NewSyscallError("connect", err)}
	}
	if timeout > 0 {
		var tv unix.Timeval
		unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
	}
	f := os.NewFile(uintptr(fd), path)
	c, err := net.FileConn(f) // dups fd, non-blocking, netpoller
	f.Close()
	if err != nil {
		return nil, err
	}
	return c.(*net.UnixConn), nil
}
