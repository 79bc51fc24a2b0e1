package slirp

import (
	"bufio"
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
	// DefaultMaxFlows caps concurrent NAT flows (TCP connections + UDP
	// associations + forwarded connections).
	DefaultMaxFlows = 1024
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

// String formats f like slirpvde's banner: HOSTPORT:GUESTIP:GUESTPORT.
func (f Forward) String() string {
	_, p, _ := net.SplitHostPort(f.Listen)
	return p + ":" + f.Guest.Addr().String() + ":" + strconv.Itoa(int(f.Guest.Port()))
}

// ParseForward parses a forward as slirpvde's -L/-U take it
// ([LOCALPORT:]GUESTIP:GUESTPORT, LOCALPORT defaulting to GUESTPORT) or as
// the slirp plugin's tcpfwd/udpfwd ([HOSTADDR:]HOSTPORT:GUESTIP:GUESTPORT).
// The host side listens on all addresses unless HOSTADDR is given.
func ParseForward(s string) (Forward, error) {
	parts := strings.Split(s, ":")
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
	ga, err := netip.ParseAddr(gip)
	if err != nil || !ga.Is4() {
		return Forward{}, fmt.Errorf("bad port forward %q: guest address %q (IPv4 only)", s, gip)
	}
	return Forward{Listen: net.JoinHostPort(host, strconv.Itoa(int(hp))), Guest: netip.AddrPortFrom(ga, uint16(gp))}, nil
}

// Config configures an Endpoint. The zero value is slirpvde's default
// without DHCP.
type Config struct {
	// Host is the gateway ("virtual host") address with the network's
	// prefix length; zero means 10.0.2.2/24. A zero host part means net+2.
	Host netip.Prefix
	// DNS is the DNS proxy address inside the network; zero means net+3.
	DNS netip.Addr
	// DHCP enables the DHCP server.
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
	// UDPIdle is the idle timeout of UDP associations; 0 means
	// DefaultUDPIdle.
	UDPIdle time.Duration
	// Logf receives diagnostic lines; nil means os.Stderr.
	Logf func(format string, args ...any)
	// Describe is what Describe returns; "" means "slirp://".
	Describe string
}

// resolved holds the computed addresses of a Config.
type resolved struct {
	host, dns, dhcpStart netip.Addr
	prefix               netip.Prefix
	upstream             string
}

// resolve fills the defaults and checks the addresses.
func (c *Config) resolve() (resolved, error) {
	var r resolved
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
