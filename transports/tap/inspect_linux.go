package tap

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// What the checks read; tests point them elsewhere.
var (
	tunDevice = "/dev/net/tun"
	sysNet    = "/sys/class/net"
	netAdmin  = hasNetAdmin
)

// Flags of /sys/class/net/IF/tun_flags (linux/if_tun.h).
const (
	iffTun     = 0x0001
	iffTap     = 0x0002
	iffPersist = 0x0800
)

// tapInfo is what the checks before opening found out.
type tapInfo struct {
	name       string
	exists     bool // an interface of that name exists (in sysfs' namespace)
	isTun      bool // …and it is a tun/tap device
	flags      int
	owner      int // -1: anyone
	group      int // -1: any group
	persistent bool
	netAdmin   bool // the process has CAP_NET_ADMIN
}

// inspect validates name and reads what sysfs says about the interface, so
// that the errors the kernel would give can be explained (and so that a
// failure that is certain never reaches water, which leaks its fd when the
// ioctl fails). /sys/class/net shows the network namespace sysfs was
// mounted in, which `ip netns exec` takes care of.
func inspect(name string) (*tapInfo, error) {
	in := &tapInfo{name: name, owner: -1, group: -1, netAdmin: netAdmin()}
	if err := validName(name); err != nil {
		return nil, err
	}
	fi, err := os.Stat(tunDevice)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, in.describe(OpOpen, syscall.ENOENT)
		}
	} else if fi.Mode()&os.ModeCharDevice == 0 {
		return nil, &Error{Name: name, Op: OpOpen, Errno: syscall.ENODEV, Detail: tunDevice + " is not a character device"}
	}
	if !in.netAdmin && unix.Faccessat(unix.AT_FDCWD, tunDevice, unix.R_OK|unix.W_OK, unix.AT_EACCESS) != nil {
		return nil, in.describe(OpOpen, syscall.EACCES)
	}
	if name == "" || strings.Contains(name, "%") {
		return in, in.check()
	}
	dir := sysNet + "/" + name
	if _, err := os.Stat(dir); err != nil {
		return in, in.check()
	}
	in.exists = true
	s, err := os.ReadFile(dir + "/tun_flags")
	if err != nil {
		return in, in.check()
	}
	in.isTun = true
	if v, err := strconv.ParseInt(strings.TrimSpace(string(s)), 0, 32); err == nil {
		in.flags = int(v)
		in.persistent = in.flags&iffPersist != 0
	}
	in.owner = readID(dir + "/owner")
	in.group = readID(dir + "/group")
	return in, in.check()
}

func readID(path string) int {
	s, err := os.ReadFile(path)
	if err != nil {
		return -1
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(s)))
	if err != nil {
		return -1
	}
	return v
}

// validName applies the kernel's dev_valid_name: at most 15 bytes, not "."
// or "..", no '/', ':' or white space. (vdeplug4 silently cuts longer names
// to 15 bytes, which may attach to another interface; govde refuses them.)
func validName(name string) error {
	switch {
	case len(name) >= unix.IFNAMSIZ:
		return &Error{Name: name, Op: OpSetIff, Errno: syscall.EINVAL,
			Detail: fmt.Sprintf("interface name %q is longer than %d bytes", name, unix.IFNAMSIZ-1)}
	case name == "." || name == ".." || strings.ContainsAny(name, "/: \t\n\v\f\r"):
		return &Error{Name: name, Op: OpSetIff, Errno: syscall.EINVAL,
			Detail: fmt.Sprintf("%q is not a valid interface name", name)}
	}
	return nil
}

// check returns the error the kernel is certain to give, if any.
func (in *tapInfo) check() error {
	switch {
	case in.exists && !in.isTun:
		return in.describe(OpSetIff, syscall.EINVAL)
	case in.exists && in.flags&iffTap == 0:
		return in.describe(OpSetIff, syscall.EINVAL)
	case in.netAdmin:
		return nil
	case !in.exists:
		return in.describe(OpSetIff, syscall.EPERM)
	case !in.mayAttach():
		return in.describe(OpSetIff, syscall.EPERM)
	}
	return nil
}

// mayAttach applies the kernel's tun_not_capable without CAP_NET_ADMIN: a
// tap with an owner needs that euid, one with a group needs that group.
func (in *tapInfo) mayAttach() bool {
	if in.owner != -1 && in.owner != os.Geteuid() {
		return false
	}
	if in.group != -1 && !inGroup(in.group) {
		return false
	}
	return true
}

func inGroup(gid int) bool {
	if os.Getegid() == gid {
		return true
	}
	gs, _ := unix.Getgroups()
	for _, g := range gs {
		if g == gid {
			return true
		}
	}
	return false
}

// hasNetAdmin reports whether CAP_NET_ADMIN is in the effective set.
func hasNetAdmin() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[0].Effective&(1<<unix.CAP_NET_ADMIN) != 0
}

// describe builds the *Error for errno at step op, in words.
func (in *tapInfo) describe(op string, errno syscall.Errno) *Error {
	e := &Error{Name: in.name, Op: op, Errno: errno}
	name := in.name
	if name == "" {
		name = "(any name)"
	}
	user := strconv.Itoa(os.Geteuid())
	switch {
	case op == OpOpen && errno == syscall.ENOENT:
		e.Detail = tunDevice + " is missing: load the tun module (modprobe tun) or create the device (mknod " + tunDevice + " c 10 200)"
	case op == OpOpen && (errno == syscall.EACCES || errno == syscall.EPERM):
		e.Detail = fmt.Sprintf("cannot open %s for tap %s: run as root or with CAP_NET_ADMIN, or make %s accessible and pre-create the tap (ip tuntap add mode tap user %s name %s)",
			tunDevice, name, tunDevice, user, name)
	case op == OpSetIff && errno == syscall.EINVAL && in.exists && !in.isTun:
		e.Detail = fmt.Sprintf("%s exists and is not a tap interface", name)
	case op == OpSetIff && errno == syscall.EINVAL && in.exists && in.flags&iffTun != 0:
		e.Detail = fmt.Sprintf("%s is a tun (layer 3) interface, not a tap", name)
	case op == OpSetIff && errno == syscall.EPERM && !in.exists:
		e.Detail = fmt.Sprintf("tap %s does not exist and creating it needs CAP_NET_ADMIN (or pre-create it: ip tuntap add mode tap user %s name %s)",
			name, user, name)
	case op == OpSetIff && errno == syscall.EPERM:
		var who []string
		if in.owner != -1 {
			who = append(who, "user "+strconv.Itoa(in.owner))
		}
		if in.group != -1 {
			who = append(who, "group "+strconv.Itoa(in.group))
		}
		e.Detail = fmt.Sprintf("tap %s belongs to %s: attaching it needs that, or CAP_NET_ADMIN",
			name, strings.Join(who, " and "))
	case op == OpSetIff && errno == syscall.EBUSY:
		e.Detail = fmt.Sprintf("tap %s is already in use by another process", name)
	default:
		e.Detail = fmt.Sprintf("%s on tap %s", op, name)
	}
	return e
}
