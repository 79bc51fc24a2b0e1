package slirp

import (
	"encoding/binary"
	"net/netip"
)

// IPv6 guests reach IPv4 hosts through two prefixes that embed the IPv4
// address in the low 32 bits: the IPv4-mapped ::ffff:0:0/96 (slirpvde6's
// way) and NAT64's well-known 64:ff9b::/96 (RFC 6052), which is the one a
// Linux guest can use (Linux turns a connect to ::ffff:a.b.c.d into IPv4
// and drops IPv6 packets from v4-mapped sources). The process then makes
// an IPv4 connection to a.b.c.d, the gateway's 10.0.2.2 meaning the host's
// 127.0.0.1.
//
// gVisor's IPv6 drops packets to or from v4-mapped addresses (RFC 4291
// forbids them on the wire), so the frame path rewrites a guest's
// ::ffff:a.b.c.d destination to internalMapped:a.b.c.d before the stack
// and the stack's internalMapped:a.b.c.d sources back on the way out,
// fixing the transport checksum incrementally (RFC 1624).
var (
	v4Mapped = netip.MustParsePrefix("::ffff:0:0/96")
	nat64    = netip.MustParsePrefix("64:ff9b::/96")
	// internalMapped is inside RFC 8215's local-use NAT64 prefix
	// 64:ff9b:1::/48; a guest using it directly is answered from ::ffff:.
	internalMapped = netip.MustParsePrefix("64:ff9b:1:ffff::/96")
)

// embeddedIPv4 returns the IPv4 address an IPv6 destination embeds
// (v4-mapped, NAT64 or the internal prefix).
func embeddedIPv4(a netip.Addr) (netip.Addr, bool) {
	if !a.Is6() || !(v4Mapped.Contains(a) || nat64.Contains(a) || internalMapped.Contains(a)) {
		return netip.Addr{}, false
	}
	b := a.As16()
	return netip.AddrFrom4([4]byte(b[12:16])), true
}

// transportChecksumOffset returns where the checksum of an IPv6 packet's
// transport header is (TCP, UDP, ICMPv6 directly after the fixed header),
// or -1.
func transportChecksumOffset(ip []byte) int {
	body := len(ip) - 40
	switch ip[6] {
	case 6:
		if body >= 20 {
			return 40 + 16
		}
	case 17:
		if body >= 8 && binary.BigEndian.Uint16(ip[46:48]) != 0 {
			return 40 + 6
		}
	case 58:
		if body >= 4 {
			return 40 + 2
		}
	}
	return -1
}

// rewriteAddr6 replaces the 16-byte address at ip[off:] with the first 12
// bytes of prefix (the low 32 bits stay) and updates the transport
// checksum, which covers the address through the pseudo-header.
func rewriteAddr6(ip []byte, off int, prefix netip.Prefix) {
	pb := prefix.Addr().As16()
	cs := transportChecksumOffset(ip)
	var sum uint32
	if cs >= 0 {
		sum = uint32(^binary.BigEndian.Uint16(ip[cs:]))
	}
	for i := 0; i < 12; i += 2 {
		old := binary.BigEndian.Uint16(ip[off+i:])
		nw := binary.BigEndian.Uint16(pb[i:])
		sum += uint32(^old) + uint32(nw)
		binary.BigEndian.PutUint16(ip[off+i:], nw)
	}
	if cs < 0 {
		return
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[cs:], ^uint16(sum))
}

// mapIncoming rewrites a v4-mapped destination of a guest's IPv6 packet
// (ip starts at the IPv6 header) to the internal prefix.
func mapIncoming(ip []byte) { rewriteAddr6(ip, 24, internalMapped) }

// unmapOutgoing rewrites the internal-prefix source of an IPv6 frame the
// stack sends back to ::ffff:a.b.c.d. Other frames are left alone.
func unmapOutgoing(p []byte) {
	if len(p) < 14+40 || p[12] != 0x86 || p[13] != 0xdd {
		return
	}
	ip := p[14:]
	pb := internalMapped.Addr().As16()
	if string(ip[8:20]) != string(pb[:12]) {
		return
	}
	rewriteAddr6(ip, 8, v4Mapped)
}
