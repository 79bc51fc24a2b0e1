package tap

import (
	"errors"
	"log"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/transports/internal/fdio"
	"github.com/govde/govde/transports/internal/offload"
)

// OffloadEnv is the environment variable that turns the offloads off for
// every tap the process opens when set to 0 (or "off", "no", "false").
const OffloadEnv = "GOVDE_TAP_OFFLOAD"

// offloadFlags are the offloads asked of the kernel: partial checksums and
// TCP segmentation (TSO) over IPv4 and IPv6, ECN included.
const offloadFlags = unix.TUN_F_CSUM | unix.TUN_F_TSO4 | unix.TUN_F_TSO6 | unix.TUN_F_TSO_ECN

// offloadOff reports whether the environment turns the offloads off.
func offloadOff() bool {
	switch strings.ToLower(os.Getenv(OffloadEnv)) {
	case "0", "off", "no", "false":
		return true
	}
	return false
}

// errNoOffload is what openVnet returns when the tap opened but the kernel
// refused the virtio-net header or the offloads: the caller opens it plain.
var errNoOffload = errors.New("tap: the kernel refused the offloads")

// openVnet opens the tap described by info itself (github.com/songgao/water
// cannot ask for IFF_VNET_HDR) with IFF_TAP|IFF_NO_PI|IFF_VNET_HDR, a
// 12-byte virtio-net header and checksum and TCP segmentation offloads.
// Errors of the open and of TUNSETIFF are *Error values like water's path
// gives; a refusal of the offload ioctls is errNoOffload, wrapped with the
// ioctl's error, after the fd was closed.
func openVnet(info *tapInfo, max int, descr string) (*Device, error) {
	fd, err := unix.Open(tunDevice, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, info.explainErrno(OpOpen, err)
	}
	ifr, err := unix.NewIfreq(info.name)
	if err != nil {
		unix.Close(fd)
		return nil, &Error{Name: info.name, Op: OpSetIff, Errno: syscall.EINVAL, Detail: err.Error()}
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, info.explainErrno(OpSetIff, err)
	}
	// The persist flag is left alone: a tap created here is not
	// persistent (it goes with the fd), one that was stays so.
	if err := unix.IoctlSetPointerInt(fd, unix.TUNSETVNETHDRSZ, offload.HdrLen); err != nil {
		unix.Close(fd)
		return nil, errors.Join(errNoOffload, os.NewSyscallError("TUNSETVNETHDRSZ", err))
	}
	if err := unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, offloadFlags); err != nil {
		unix.Close(fd)
		return nil, errors.Join(errNoOffload, os.NewSyscallError("TUNSETOFFLOAD", err))
	}
	name := ifr.Name()
	if descr == "" {
		descr = name
	}
	p, err := fdio.New(fd, fdio.Config{MaxFrame: max, Descr: descr, VnetHdr: true})
	if err != nil {
		return nil, &Error{Name: info.name, Op: OpOpen, Errno: syscall.EINVAL, Detail: err.Error()}
	}
	return &Device{Packet: p, name: name, offload: true}, nil
}

// explainErrno turns the error of a syscall at step op into an *Error.
func (in *tapInfo) explainErrno(op string, err error) error {
	errno, ok := err.(syscall.Errno)
	if !ok {
		return &Error{Name: in.name, Op: op, Errno: syscall.EINVAL, Detail: err.Error()}
	}
	return in.describe(op, errno)
}

// logf reports the fall back to plain mode; tests replace it.
var logf = log.Printf
