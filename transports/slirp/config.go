package slirp

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// Defaults of the original slirpvde.
const (
	// DefaultHost is the gateway address and network.
	DefaultHost = "10.0.2.2/24"
	// DefaultHost6 is the gateway's IPv6 address and the /64 it
	// advertises (slirp4netns' and podman's choice; libslirp's default
	// fec0::/64 is deprecated site-local space).
	DefaultHost6 = "fd00::2/64"
	// RouterLinkLocal is the router's link-local address: the source of
	// its router advertisements and DHCPv6 replies, and the guests'
	// default router (libslirp's choice).
	RouterLinkLocal = "fe80::2"
	// DefaultICMPIdle closes an ICMP echo association with no traffic for
	// this long.
	DefaultICMPIdle = 10 * time.Second
	// DefaultRAInterval is the period of unsolicited router advertisements.
	DefaultRAInterval = 60 * time.Second
	// DefaultMaxFlows caps concurrent NAT flows (TCP connections + UDP
	// associations + forwarded connections).
	DefaultMaxFlows = 1024
	// DefaultMTU, MinMTU and MaxMTU bound Config.MTU: IPv6 needs 1280,
	// frames carry at most 65535 bytes (14 of Ethernet header).
	DefaultMTU = 1500
	MinMTU     = 1280
	MaxMTU     = 65521
	// DefaultUDPIdle closes a UDP association with no traffic for this long.
	DefaultUDPIdle = 60 * time.Second
	// LeaseSeconds is the DHCP lease time slirpvde gives.
	LeaseSeconds = 86400
	// dhcpSlots is how many leases the DHCP server hands out.
	dhcpSlots = 16
)

// Forward is one host->guest port forward: connections (TCP) or datagrams
// (UDP) arriving on Listen on the host are relayed to Guest inside the
// virtual network.
type Forward struct {
	Listen string         // host address "HOST:PORT" or ":PORT"
	Guest  netip.AddrPort // guest address and port
}

// String formats f like slirpvde's banner: HOSTPORT:GUESTIP:GUESTPORT
// (an IPv6 guest in brackets).
func (f Forward) String() string {
	_, p, _ := net.SplitHostPort(f.Listen)
	return p + ":" + bracket(f.Guest.Addr()) + ":" + strconv.Itoa(int(f.Guest.Port()))
}

// bracket formats an address as ParseForward reads it.
func bracket(a netip.Addr) string {
	if a.Is6() {
		return "[" + a.String() + "]"
	}
	return a.String()
}

// ParseForward parses a forward as slirpvde's -L/-U take it
// ([LOCALPORT:]GUESTIP:GUESTPORT, LOCALPORT defaulting to GUESTPORT) or as
// the slirp plugin's tcpfwd/udpfwd ([HOSTADDR:]HOSTPORT:GUESTIP:GUESTPORT).
// IPv6 addresses are written in brackets ([fd00::15]). The host side
// listens on all addresses unless HOSTADDR is given.
func ParseForward(s string) (Forward, error) {
	parts, ok := splitColons(s)
	if !ok {
		return Forward{}, fmt.Errorf("bad port forward %q: unbalanced brackets", s)
	}
	var host, hport, gip, gport string
	switch len(parts) {
	case 2:
		gip, gport = parts[0], parts[1]
		hport = gport
	case 3:
		hport, gip, gport = parts[0], parts[1], parts[2]
	case 4:
		host, hport, gip, gport = parts[0], parts[1], parts[2], parts[3]
	default:
		return Forward{}, fmt.Errorf("bad port forward %q: want [LOCALPORT:]GUESTIP:GUESTPORT", s)
	}
	hp, err := strconv.ParseUint(hport, 10, 16)
	if err != nil {
		return Forward{}, fmt.Errorf("bad port forward %q: local port %q", s, hport)
	}
	gp, err := strconv.ParseUint(gport, 10, 16)
	if err != nil || gp == 0 {
		return Forward{}, fmt.Errorf("bad port forward %q: guest port %q", s, gport)
	}
	ga, err := parseBracketed(gip)
	if err != nil || ga.Is4In6() || ga.Zone() != "" {
		return Forward{}, fmt.Errorf("bad port forward %q: guest address %q", s, gip)
	}
	if host != "" {
		ha, err := parseBracketed(host)
		if err != nil {
			return Forward{}, fmt.Errorf("bad port forward %q: host address %q", s, host)
		}
		host = ha.String()
	}
	return Forward{Listen: net.JoinHostPort(host, strconv.Itoa(int(hp))), Guest: netip.AddrPortFrom(ga, uint16(gp))}, nil
}

// splitColons splits s at colons outside brackets.
func splitColons(s string) ([]string, bool) {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			depth--
		case ':':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
		if depth < 0 || depth > 1 {
			return nil, false
		}
	}
	return append(parts, s[start:]), depth == 0
}

// parseBracketed parses an IPv4 address or a bracketed IPv6 address.
func parseBracketed(s string) (netip.Addr, error) {
	if v, ok := strings.CutPrefix(s, "["); ok {
		v, ok = strings.CutSuffix(v, "]")
		a, err := netip.ParseAddr(v)
		if !ok || err != nil || !a.Is6() {
			return netip.Addr{}, fmt.Errorf("bad address %q", s)
		}
		return a, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return netip.Addr{}, fmt.Errorf("bad address %q", s)
	}
	return a, nil
}

// listenNet is the network a forward's host socket listens on: the
// family of HOSTADDR, else IPv4 (0.0.0.0, as slirpvde) for an IPv4 guest
// and both families ([::]) for an IPv6 guest.
func (f Forward) listenNet(proto string) string {
	h, _, _ := net.SplitHostPort(f.Listen)
	if a, err := netip.ParseAddr(h); err == nil {
		if a.Is4() {
			return proto + "4"
		}
		return proto + "6"
	}
	if h == "" && f.Guest.Addr().Is6() {
		return proto
	}
	return proto + "4"
}

// Config configures an Endpoint. The zero value is slirpvde's default
// without DHCP.
type Config struct {
	// Host is the gateway ("virtual host") address with the network's
	// prefix length; zero means 10.0.2.2/24. A zero host part means net+2.
	Host netip.Prefix
	// DNS is the DNS proxy address inside the network; zero means net+3.
	DNS netip.Addr
	// Host6 is the gateway's IPv6 address with the prefix it advertises
	// (64 bits, for SLAAC); zero means fd00::2/64. A zero interface part
	// means prefix::2. The gateway's IPv6 address means the host's ::1.
	Host6 netip.Prefix
	// DNS6 is the IPv6 DNS proxy address; zero means prefix::3.
	DNS6 netip.Addr
	// RA enables router advertisements (answers to router solicitations
	// and one every RAInterval): the prefix of Host6 for SLAAC, the
	// router's link-local address fe80::2 as default router, the MTU and
	// DNS6 (RDNSS).
	RA bool
	// RAInterval is the period of unsolicited router advertisements; 0
	// means DefaultRAInterval.
	RAInterval time.Duration
	// DHCP enables the DHCP servers (DHCPv4, and DHCPv6: stateless
	// information and stateful addresses from prefix::15).
	DHCP bool
	// DHCPStart is the first leased address; zero means net+15.
	DHCPStart netip.Addr
	// DNSUpstream is the "host:port" DNS queries to the DNS address are
	// relayed to (UDP and TCP); "" means the first nameserver of
	// /etc/resolv.conf, port 53.
	DNSUpstream string
	// TCPForwards and UDPForwards are host->guest port forwards.
	TCPForwards, UDPForwards []Forward
	// MaxFlows caps concurrent flows; 0 means DefaultMaxFlows.
	MaxFlows int
	// MTU is the router's IP MTU on the virtual LAN (0: DefaultMTU), from
	// MinMTU to MaxMTU: the stack's MSS follows it, DHCP (option 26) and the
	// router advertisements announce it when it is not 1500. Larger MTUs
	// need the switch and plugs on the way to carry frames of MTU+14 bytes
	// (vde_switch --maxframe).
	MTU int
	// UDPIdle is the idle timeout of UDP associations; 0 means
	// DefaultUDPIdle.
	UDPIdle time.Duration
	// ICMPIdle is the idle timeout of ICMP echo associations; 0 means
	// DefaultICMPIdle.
	ICMPIdle time.Duration
	// Logf receives diagnostic lines; nil means os.Stderr.
	Logf func(format string, args ...any)
	// Describe is what Describe returns; "" means "slirp://".
	Describe string
}

// resolved holds the computed addresses of a Config.
type resolved struct {
	mtu                  int
	host, dns, dhcpStart netip.Addr
	prefix               netip.Prefix
	upstream             string
	// IPv6: the gateway, DNS, link-local router and first DHCPv6 address,
	// and the /64.
	host6, dns6, ll6, dhcp6Start netip.Addr
	prefix6                      netip.Prefix
}

// resolve fills the defaults and checks the addresses.
func (c *Config) resolve() (resolved, error) {
	var r resolved
	r.mtu = c.MTU
	if r.mtu == 0 {
		r.mtu = DefaultMTU
	}
	if r.mtu < MinMTU || r.mtu > MaxMTU {
		return r, fmt.Errorf("bad MTU %d: %d..%d", c.MTU, MinMTU, MaxMTU)
	}
	p := c.Host
	if !p.IsValid() {
		p = netip.MustParsePrefix(DefaultHost)
	}
	if !p.Addr().Is4() || p.Bits() < 8 || p.Bits() > 30 {
		return r, fmt.Errorf("bad host address %v: IPv4 with a prefix of 8..30 bits", p)
	}
	r.prefix = p.Masked()
	r.host = p.Addr()
	if r.host == r.prefix.Addr() {
		r.host = addN(r.prefix.Addr(), 2)
	}
	r.dns = c.DNS
	if !r.dns.IsValid() {
		r.dns = addN(r.prefix.Addr(), 3)
	}
	if !r.dns.Is4() || r.dns == r.host {
		return r, fmt.Errorf("bad DNS address %v", r.dns)
	}
	r.dhcpStart = c.DHCPStart
	if !r.dhcpStart.IsValid() {
		r.dhcpStart = addN(r.prefix.Addr(), 15)
	}
	if !r.dhcpStart.Is4() {
		return r, fmt.Errorf("bad DHCP start address %v", r.dhcpStart)
	}
	p6 := c.Host6
	if !p6.IsValid() {
		p6 = netip.MustParsePrefix(DefaultHost6)
	}
	if !p6.Addr().Is6() || p6.Addr().Is4In6() || p6.Bits() != 64 || p6.Addr().IsLinkLocalUnicast() || p6.Addr().IsMulticast() {
		return r, fmt.Errorf("bad IPv6 host address %v: a /64 outside link-local and multicast space", p6)
	}
	r.prefix6 = p6.Masked()
	r.host6 = p6.Addr()
	if r.host6 == r.prefix6.Addr() {
		r.host6 = addN6(r.prefix6.Addr(), 2)
	}
	r.dns6 = c.DNS6
	if !r.dns6.IsValid() {
		r.dns6 = addN6(r.prefix6.Addr(), 3)
	}
	if !r.dns6.Is6() || r.dns6.Is4In6() || r.dns6 == r.host6 || r.dns6.IsLinkLocalUnicast() || r.dns6.IsMulticast() {
		return r, fmt.Errorf("bad IPv6 DNS address %v", r.dns6)
	}
	r.ll6 = netip.MustParseAddr(RouterLinkLocal)
	r.dhcp6Start = addN6(r.prefix6.Addr(), 0x15)
	r.upstream = c.DNSUpstream
	if r.upstream == "" {
		ns, err := resolvConfNameserver("/etc/resolv.conf")
		if err != nil {
			// No resolver: DNS queries to the proxy go unanswered, the rest works.
			r.upstream = ""
		} else {
			r.upstream = net.JoinHostPort(ns, "53")
		}
	}
	return r, nil
}

// addN returns a + n (IPv4).
func addN(a netip.Addr, n uint32) netip.Addr {
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += n
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// addN6 returns a + n in the low 32 bits (IPv6).
func addN6(a netip.Addr, n uint32) netip.Addr {
	b := a.As16()
	v := binary.BigEndian.Uint32(b[12:]) + n
	binary.BigEndian.PutUint32(b[12:], v)
	return netip.AddrFrom16(b)
}

// resolvConfNameserver returns the first nameserver line of path.
func resolvConfNameserver(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "nameserver" {
			if a, err := netip.ParseAddr(fields[1]); err == nil {
				return a.WithZone("").String(), nil
			}
		}
	}
	return "", errors.New("no nameserver in " + path)
}
