package slirp

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// Router advertisement values (RFC 4861 6.2.1 defaults where they exist).
const (
	raRouterLifetime = 1800  // seconds: 3 x MaxRtrAdvInterval
	raValidLifetime  = 86400 // seconds, of the prefix
	raPrefLifetime   = 14400 // seconds, of the prefix
	raHopLimit       = 64
)

var allNodes = netip.MustParseAddr("ff02::1")

// buildRA returns the ICMPv6 router advertisement the router sends (with
// a zero checksum): the managed/other flags when DHCPv6 runs, a source
// link-layer address option, the MTU, the /64 prefix (on-link,
// autonomous: SLAAC) and the DNS proxy address (RDNSS, RFC 8106).
func (e *Endpoint) buildRA() []byte {
	m := make([]byte, 16, 16+8+8+32+24)
	m[0] = 134
	m[4] = raHopLimit
	if e.dhcp6 != nil {
		m[5] = 0xc0 // M and O: addresses and other configuration by DHCPv6
	}
	binary.BigEndian.PutUint16(m[6:8], raRouterLifetime)
	// Reachable time and retransmission timer: 0, unspecified.
	m = append(m, 1, 1)
	m = append(m, e.mac...)
	m = append(m, 5, 1, 0, 0, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(m[len(m)-4:], uint32(e.r.mtu))
	m = append(m, 3, 4, 64, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(m[len(m)-12:], raValidLifetime)
	binary.BigEndian.PutUint32(m[len(m)-8:], raPrefLifetime)
	pfx := e.r.prefix6.Addr().As16()
	m = append(m, pfx[:]...)
	m = append(m, 25, 3, 0, 0, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(m[len(m)-4:], raRouterLifetime)
	dns := e.r.dns6.As16()
	m = append(m, dns[:]...)
	return m
}

// sendRA sends a router advertisement to all nodes (the answer to a
// solicitation from src, or an unsolicited one when src is invalid).
func (e *Endpoint) sendRA(_ []byte, _ netip.Addr) {
	e.emit(frame6(multicastMAC6(allNodes), []byte(e.mac), e.r.ll6, allNodes, protoICMP6, 255, e.buildRA(), 2))
}

// advertise sends an unsolicited router advertisement at start and every
// RAInterval until the endpoint closes.
func (e *Endpoint) advertise() {
	defer e.wg.Done()
	t := time.NewTicker(e.cfg.RAInterval)
	defer t.Stop()
	for {
		e.sendRA(nil, netip.Addr{})
		select {
		case <-t.C:
		case <-e.done:
			return
		}
	}
}
