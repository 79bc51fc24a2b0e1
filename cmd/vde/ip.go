package main

import (
	"net/netip"

	"golang.org/x/sys/unix"
)

func ip6String(b []byte) string { return netip.AddrFrom16([16]byte(b)).String() }

func isTTY(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}
