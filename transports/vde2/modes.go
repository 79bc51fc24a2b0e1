package vde2

import (
	"errors"
	"syscall"
)

// Default permissions of a switch directory (vde_switch without -m and
// --dirmode).
const (
	DefaultMode    = 0600  // DIR/ctl: srw-------
	DefaultDirMode = 02700 // DIR: drwx--S---
	// DefaultPort0Mode is vde_switch's default --mgmtmode, applied to the
	// data sockets of port-0 (REQ_NEW_PORT0) endpoints.
	DefaultPort0Mode = 0600
)

// Modes derives vde_switch's permissions from its -m/--mode and --dirmode
// options, as the C switch does:
//
//   - neither given (modeSet and dirSet false): 0600 and 02700;
//   - only -m M: dirMode = 02000 | per class (user, group, other) M's rw bits
//     plus x when the class has any of them (660 -> 02770, 666 -> 02777);
//   - only --dirmode D: ctlMode = D & 0666;
//   - both: as given.
//
// ctlMode is for DIR/ctl, dirMode for DIR, and epMode for the per-endpoint
// data sockets (vde_switch uses the -m mode for them too; the server
// narrows it to epMode&0700 when it runs as root and chowns the socket to the
// client).
func Modes(mode, dirmode int, modeSet, dirSet bool) (ctlMode, dirMode, epMode int) {
	switch {
	case !modeSet && !dirSet:
		mode, dirmode = DefaultMode, DefaultDirMode
	case modeSet && !dirSet:
		addbit := func(mask, add int) int {
			if mode&mask != 0 {
				return mode&mask | add
			}
			return 0
		}
		dirmode = 02000 | addbit(0600, 0100) | addbit(0060, 0010) | addbit(0006, 0001)
	case !modeSet && dirSet:
		mode = dirmode & 0666
	}
	return mode, dirmode, mode
}

// strerror formats err like C's strerror when it carries an errno
// ("Connection refused", "Directory not empty"), else as err.Error().
func strerror(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		if s != "" && s[0] >= 'a' && s[0] <= 'z' {
			s = string(s[0]-'a'+'A') + s[1:]
		}
		return s
	}
	return err.Error()
}
