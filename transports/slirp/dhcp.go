package slirp

import (
	"encoding/binary"
	"net/netip"
	"sync"

	"github.com/govde/govde/frames"
)

// DHCP message types (option 53).
const (
	dhcpDiscover = 1
	dhcpOffer    = 2
	dhcpRequest  = 3
	dhcpAck      = 5
	dhcpNak      = 6
	dhcpRelease  = 7
)

const (
	bootpFixed   = 236 // BOOTP header up to the magic cookie
	bootpMinSize = 300 // replies are padded to this size, as most servers do
	dhcpMagic    = 0x63825363
	ipHdrLen     = 20
	udpHdrLen    = 8
)

// dhcpServer is slirpvde's DHCP server: dhcpSlots leases from the first
// address, sticky per client MAC, answered in front of the stack.
type dhcpServer struct {
	r     resolved
	mac   [6]byte
	mu    sync.Mutex
	slots [dhcpSlots][6]byte
	used  [dhcpSlots]bool
}

func newDHCPServer(r resolved, mac [6]byte) *dhcpServer {
	return &dhcpServer{r: r, mac: mac}
}

// handle consumes p if it is a UDP datagram to port 67 (answering it if it
// is a valid DISCOVER or REQUEST) and reports whether it did.
func (s *dhcpServer) handle(e *Endpoint, p []byte) bool {
	ip := p[14:]
	if len(ip) < ipHdrLen || ip[0]>>4 != 4 || ip[9] != 17 {
		return false
	}
	ihl := int(ip[0]&0xf) * 4
	if ihl < ipHdrLen || len(ip) < ihl+udpHdrLen {
		return false
	}
	if binary.BigEndian.Uint16(ip[6:8])&0x3fff != 0 {
		return false // fragment: leave it to the stack
	}
	udp := ip[ihl:]
	if binary.BigEndian.Uint16(udp[2:4]) != 67 {
		return false
	}
	m := udp[udpHdrLen:]
	if tl := int(binary.BigEndian.Uint16(ip[2:4])); tl >= ihl+udpHdrLen && tl <= len(ip) {
		m = ip[ihl+udpHdrLen : tl]
	}
	if len(m) < bootpFixed+4 || m[0] != 1 || m[1] != 1 || m[2] != 6 || binary.BigEndian.Uint32(m[bootpFixed:]) != dhcpMagic {
		return true
	}
	var chaddr [6]byte
	copy(chaddr[:], m[28:34])
	typ, reqIP := parseDHCPOptions(m[bootpFixed+4:])
	if !reqIP.IsValid() {
		if ci := netip.AddrFrom4([4]byte(m[12:16])); !ci.IsUnspecified() {
			reqIP = ci
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	slot := s.lookup(chaddr)
	switch typ {
	case dhcpDiscover:
		if slot < 0 {
			return true // no free lease
		}
		e.emit(s.reply(m, chaddr, dhcpOffer, addN(s.r.dhcpStart, uint32(slot))))
	case dhcpRequest:
		if slot >= 0 && (!reqIP.IsValid() || reqIP == addN(s.r.dhcpStart, uint32(slot))) {
			s.slots[slot], s.used[slot] = chaddr, true
			e.emit(s.reply(m, chaddr, dhcpAck, addN(s.r.dhcpStart, uint32(slot))))
		} else {
			e.emit(s.reply(m, chaddr, dhcpNak, netip.AddrFrom4([4]byte{})))
		}
	case dhcpRelease:
		if slot >= 0 && s.used[slot] && s.slots[slot] == chaddr {
			s.used[slot] = false
		}
	}
	return true
}

// lookup returns the slot leased to mac, else the first free slot, else -1.
// s.mu is held.
func (s *dhcpServer) lookup(mac [6]byte) int {
	for i := range s.slots {
		if s.used[i] && s.slots[i] == mac {
			return i
		}
	}
	for i := range s.slots {
		if !s.used[i] {
			return i
		}
	}
	return -1
}

// parseDHCPOptions returns the message type (option 53) and the requested
// address (option 50) of an options area.
func parseDHCPOptions(o []byte) (typ byte, req netip.Addr) {
	for len(o) > 0 {
		code := o[0]
		if code == 255 {
			break
		}
		if code == 0 {
			o = o[1:]
			continue
		}
		if len(o) < 2 || len(o) < 2+int(o[1]) {
			break
		}
		v := o[2 : 2+int(o[1])]
		switch {
		case code == 53 && len(v) == 1:
			typ = v[0]
		case code == 50 && len(v) == 4:
			req = netip.AddrFrom4([4]byte(v))
		}
		o = o[2+len(v):]
	}
	return typ, req
}

// reply builds a DHCP reply frame to the client's MAC from gateway:67 to
// 255.255.255.255:68, with options 53, 54, 1, 3, 6, 51 (NAK: 53, 54, 56).
func (s *dhcpServer) reply(req []byte, chaddr [6]byte, typ byte, yiaddr netip.Addr) *frames.Buf {
	f := frames.Get(14 + ipHdrLen + udpHdrLen + bootpMinSize)
	p := f.Space()[:14+ipHdrLen+udpHdrLen+bootpMinSize]
	clear(p)
	putEthHdr(p, chaddr[:], s.mac[:], 0x0800)
	m := p[14+ipHdrLen+udpHdrLen:]
	m[0], m[1], m[2] = 2, 1, 6
	copy(m[4:8], req[4:8])     // xid
	copy(m[10:12], req[10:12]) // flags
	gw := s.r.host.As4()
	ya := yiaddr.As4()
	copy(m[16:20], ya[:])
	if typ != dhcpNak {
		copy(m[20:24], gw[:])
	}
	copy(m[28:44], req[28:44])
	binary.BigEndian.PutUint32(m[bootpFixed:], dhcpMagic)
	o := m[bootpFixed+4 : bootpFixed+4]
	o = append(o, 53, 1, typ, 54, 4, gw[0], gw[1], gw[2], gw[3])
	if typ == dhcpNak {
		msg := "requested address not available"
		o = append(o, 56, byte(len(msg)))
		o = append(o, msg...)
	} else {
		mask := netipMask(s.r.prefix.Bits())
		dns := s.r.dns.As4()
		o = append(o, 1, 4, mask[0], mask[1], mask[2], mask[3])
		o = append(o, 3, 4, gw[0], gw[1], gw[2], gw[3])
		o = append(o, 6, 4, dns[0], dns[1], dns[2], dns[3])
		o = append(o, 51, 4, 0, 0, 0, 0)
		binary.BigEndian.PutUint32(o[len(o)-4:], LeaseSeconds)
		if s.r.mtu != DefaultMTU {
			o = append(o, 26, 2, byte(s.r.mtu>>8), byte(s.r.mtu)) // interface MTU
		}
	}
	_ = append(o, 255)
	ip := p[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:4], uint16(ipHdrLen+udpHdrLen+bootpMinSize))
	ip[8] = 64
	ip[9] = 17
	copy(ip[12:16], gw[:])
	copy(ip[16:20], []byte{255, 255, 255, 255})
	binary.BigEndian.PutUint16(ip[10:12], ipChecksum(ip[:ipHdrLen]))
	u := ip[ipHdrLen:]
	binary.BigEndian.PutUint16(u[0:2], 67)
	binary.BigEndian.PutUint16(u[2:4], 68)
	binary.BigEndian.PutUint16(u[4:6], uint16(udpHdrLen+bootpMinSize))
	// UDP checksum 0: none, valid for IPv4.
	f.SetLen(len(p))
	return f
}

// netipMask returns the IPv4 netmask of a prefix length.
func netipMask(bits int) [4]byte {
	v := ^uint32(0) << (32 - bits)
	return [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

// ipChecksum is the Internet checksum of an IPv4 header.
func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
