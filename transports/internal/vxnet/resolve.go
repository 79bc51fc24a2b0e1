package vxnet

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// Family restricts address resolution.
type Family uint8

// Address families a VNL may ask for with its v4 and v6 options.
const (
	AnyFamily Family = iota // neither or both of v4 and v6
	V4                      // v4 only
	V6                      // v6 only
)

// FamilyOf returns the family the v4 and v6 options select.
func FamilyOf(v4, v6 bool) Family {
	switch {
	case v4 && !v6:
		return V4
	case v6 && !v4:
		return V6
	}
	return AnyFamily
}

// resolveTimeout bounds a name lookup.
const resolveTimeout = 5 * time.Second

// Resolve turns the address part of a VNL into an IP address of the wanted
// family: a literal (IPv6 with an optional %zone, which is dropped: use the
// if option) or a host name, resolved with the system resolver. The first
// address of the right family wins, as with getaddrinfo. Unlike vdeplug
// 4.0.1, where v4/v6 only choose the default address, fam restricts names
// and literals alike.
func Resolve(module, host string, fam Family) (netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.WithZone("").Unmap()
		if !familyOK(a, fam) {
			return netip.Addr{}, &OptionError{Module: module, Problem: fmt.Sprintf("address %s is not %s", a, famName(fam))}
		}
		return a, nil
	}
	network := "ip"
	switch fam {
	case V4:
		network = "ip4"
	case V6:
		network = "ip6"
	}
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, network, host)
	if err != nil || len(addrs) == 0 {
		why := "no address"
		if dnsErr, ok := err.(*net.DNSError); ok {
			why = dnsErr.Err
		}
		return netip.Addr{}, &OptionError{Module: module, Problem: fmt.Sprintf("cannot resolve address %q: %s", host, why)}
	}
	for _, a := range addrs {
		if a = a.WithZone("").Unmap(); familyOK(a, fam) {
			return a, nil
		}
	}
	return netip.Addr{}, &OptionError{Module: module, Problem: fmt.Sprintf("address %q has no %s address", host, famName(fam))}
}

func familyOK(a netip.Addr, fam Family) bool {
	switch fam {
	case V4:
		return a.Is4()
	case V6:
		return a.Is6()
	}
	return true
}

func famName(fam Family) string {
	switch fam {
	case V4:
		return "IPv4"
	case V6:
		return "IPv6"
	}
	return "IP"
}

// UDPMaxFrame is the largest Ethernet frame a vx datagram can carry over
// IPv4 (v6 false) or IPv6: the 65535-byte IP packet limit minus the IP
// header (IPv4 only: IPv6 counts only its payload), the UDP header and the
// VXLAN header. Larger paths need IP fragmentation, which the kernel does.
func UDPMaxFrame(v6 bool) int {
	if v6 {
		return 65535 - 8 - HeaderLen
	}
	return 65535 - 20 - 8 - HeaderLen
}
