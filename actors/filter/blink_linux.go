package filter

import (
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Blink sends wirefilter's --blink datagrams: for every packet sent,
// "<id> <LR|RL|--> <size>\n" to a unix datagram socket, for tools that
// flash a light per packet.
//
// Unlike the original, whose blocking sendto stalls the whole filter when
// the reader is slow, sends never block: a datagram the socket cannot take
// now is dropped and counted. Safe for concurrent use by the stages.
type Blink struct {
	fd      int
	sa      syscall.RawSockaddrUnix
	saLen   uintptr
	path    string
	id      string // as showinfo prints it: the id and one space
	dropped atomic.Uint64
}

// OpenBlink prepares datagrams to the unix socket at path, tagged with id
// (the original's default is the pid as %06d). The socket need not exist
// yet: datagrams sent while it is missing are dropped.
func OpenBlink(path, id string) (*Blink, error) {
	var sa syscall.RawSockaddrUnix
	if len(path) >= len(sa.Path) {
		return nil, fmt.Errorf("blink socket path too long: %s", path)
	}
	if id == "" {
		id = fmt.Sprintf("%06d", os.Getpid())
	}
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	sa.Family = syscall.AF_UNIX
	for i := 0; i < len(path); i++ {
		sa.Path[i] = int8(path[i])
	}
	return &Blink{fd: fd, sa: sa, saLen: uintptr(2 + len(path) + 1), path: path, id: id + " "}, nil
}

// Path returns the socket path.
func (b *Blink) Path() string { return b.path }

// ID returns the id followed by one space, as the original's showinfo
// prints it.
func (b *Blink) ID() string { return b.id }

// Dropped returns how many datagrams could not be sent.
func (b *Blink) Dropped() uint64 { return b.dropped.Load() }

// appendMsg appends the datagram for one packet to buf.
func (b *Blink) appendMsg(buf []byte, dir string, size int) []byte {
	buf = append(buf, b.id...)
	buf = append(buf, dir...)
	buf = append(buf, ' ')
	buf = strconv.AppendInt(buf, int64(size), 10)
	return append(buf, '\n')
}

// send sends msg without blocking; it reports false (and counts) when the
// datagram was dropped.
func (b *Blink) send(msg []byte) bool {
	_, _, e := syscall.Syscall6(syscall.SYS_SENDTO, uintptr(b.fd), uintptr(unsafe.Pointer(&msg[0])), uintptr(len(msg)),
		syscall.MSG_DONTWAIT|syscall.MSG_NOSIGNAL, uintptr(unsafe.Pointer(&b.sa)), b.saLen)
	if e != 0 {
		b.dropped.Add(1)
		return false
	}
	return true
}

// Close closes the socket.
func (b *Blink) Close() error { return syscall.Close(b.fd) }
