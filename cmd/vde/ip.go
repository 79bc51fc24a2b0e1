package main

import "net/netip"

func ip6String(b []byte) string { return netip.AddrFrom16([16]byte(b)).String() }
