package slirp

import (
	"encoding/binary"
	"net/netip"
	"sync"
)

// DHCPv6 (RFC 8415): message types, option codes and status codes the
// server uses.
const (
	dhcp6ClientPort = 546
	dhcp6ServerPort = 547

	dhcp6Solicit     = 1
	dhcp6Advertise   = 2
	dhcp6Request     = 3
	dhcp6Confirm     = 4
	dhcp6Renew       = 5
	dhcp6Rebind      = 6
	dhcp6Reply       = 7
	dhcp6Release     = 8
	dhcp6Decline     = 9
	dhcp6InfoRequest = 11

	opt6ClientID     = 1
	opt6ServerID     = 2
	opt6IANA         = 3
	opt6IAAddr       = 5
	opt6StatusCode   = 13
	opt6RapidCommit  = 14
	opt6DNSServers   = 23
	opt6InfoRefresh  = 32
	status6Success   = 0
	status6NoAddrs   = 2
	status6NotOnLink = 4

	dhcp6Slots = dhcpSlots
)

// dhcp6Server answers DHCPv6 in front of the stack: information requests
// (the DNS address) and stateful addresses (IA_NA) from prefix::15, one
// per client DUID, dhcp6Slots of them, leased for LeaseSeconds.
type dhcp6Server struct {
	r     resolved
	duid  []byte // DUID-LL of the gateway MAC
	mac   [6]byte
	mu    sync.Mutex
	slots [dhcp6Slots]string // client DUIDs
	used  [dhcp6Slots]bool
}

func newDHCP6Server(r resolved, mac [6]byte) *dhcp6Server {
	duid := append([]byte{0, 3, 0, 1}, mac[:]...)
	return &dhcp6Server{r: r, duid: duid, mac: mac}
}

// dhcp6Msg is a parsed client message.
type dhcp6Msg struct {
	typ      byte
	xid      [3]byte
	clientID []byte
	serverID []byte
	iaid     []byte // the first IA_NA's IAID, nil if none
	iaAddr   netip.Addr
	rapid    bool
}

// parseDHCP6 parses a client message; ok is false if it is malformed.
func parseDHCP6(m []byte) (d dhcp6Msg, ok bool) {
	if len(m) < 4 {
		return d, false
	}
	d.typ = m[0]
	copy(d.xid[:], m[1:4])
	o := m[4:]
	for len(o) > 0 {
		if len(o) < 4 {
			return d, false
		}
		code, n := binary.BigEndian.Uint16(o), int(binary.BigEndian.Uint16(o[2:]))
		if len(o) < 4+n {
			return d, false
		}
		v := o[4 : 4+n]
		switch code {
		case opt6ClientID:
			d.clientID = v
		case opt6ServerID:
			d.serverID = v
		case opt6IANA:
			if len(v) < 12 {
				return d, false
			}
			if d.iaid == nil {
				d.iaid = v[:4]
				for io := v[12:]; len(io) >= 4; {
					c, l := binary.BigEndian.Uint16(io), int(binary.BigEndian.Uint16(io[2:]))
					if len(io) < 4+l {
						break
					}
					if c == opt6IAAddr && l >= 24 {
						d.iaAddr = netip.AddrFrom16([16]byte(io[4:20]))
					}
					io = io[4+l:]
				}
			}
		case opt6RapidCommit:
			d.rapid = true
		}
		o = o[4+n:]
	}
	return d, true
}

// handle answers the DHCPv6 message in ip (the guest's IPv6 packet; udp
// its UDP header and payload) from the client at src with MAC mac.
func (s *dhcp6Server) handle(e *Endpoint, mac []byte, src netip.Addr, ip, udp []byte) {
	if binary.BigEndian.Uint16(udp[0:2]) != dhcp6ClientPort {
		return
	}
	if l := int(binary.BigEndian.Uint16(udp[4:6])); l >= 8 && l <= len(udp) {
		udp = udp[:l]
	}
	d, ok := parseDHCP6(udp[8:])
	if !ok || (d.serverID != nil && string(d.serverID) != string(s.duid)) {
		return
	}
	if r := s.answer(d); r != nil {
		e.emit(frame6(mac, []byte(e.mac), e.r.ll6, src, protoUDP, 255, udpDatagram(dhcp6ServerPort, dhcp6ClientPort, r), 6))
	}
}

// udpDatagram returns a UDP header (checksum left zero) and payload.
func udpDatagram(sport, dport uint16, payload []byte) []byte {
	u := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(u[0:], sport)
	binary.BigEndian.PutUint16(u[2:], dport)
	binary.BigEndian.PutUint16(u[4:], uint16(8+len(payload)))
	return append(u, payload...)
}

// answer returns the reply to d, or nil when there is none.
func (s *dhcp6Server) answer(d dhcp6Msg) []byte {
	var typ byte = dhcp6Reply
	switch d.typ {
	case dhcp6Solicit:
		if d.clientID == nil || d.serverID != nil {
			return nil
		}
		if !d.rapid {
			typ = dhcp6Advertise
		}
	case dhcp6Request, dhcp6Renew, dhcp6Release, dhcp6Decline:
		if d.clientID == nil || d.serverID == nil {
			return nil
		}
	case dhcp6Rebind, dhcp6Confirm:
		if d.clientID == nil || d.serverID != nil {
			return nil
		}
	case dhcp6InfoRequest:
	default:
		return nil
	}
	r := []byte{typ, d.xid[0], d.xid[1], d.xid[2]}
	r = appendOpt6(r, opt6ServerID, s.duid)
	if d.clientID != nil {
		r = appendOpt6(r, opt6ClientID, d.clientID)
	}
	switch d.typ {
	case dhcp6Confirm:
		st := uint16(status6Success)
		if d.iaAddr.IsValid() && !s.r.prefix6.Contains(d.iaAddr) {
			st = status6NotOnLink
		}
		return appendStatus6(r, st, "")
	case dhcp6Release, dhcp6Decline:
		s.free(d.clientID)
		return appendStatus6(r, status6Success, "")
	case dhcp6InfoRequest:
		r = appendOpt6(r, opt6InfoRefresh, binary.BigEndian.AppendUint32(nil, LeaseSeconds))
	}
	if d.typ != dhcp6InfoRequest && d.iaid != nil {
		commit := typ == dhcp6Reply
		if a, ok := s.lease(d.clientID, commit); ok {
			ia := append([]byte(nil), d.iaid...)
			ia = binary.BigEndian.AppendUint32(ia, LeaseSeconds/2)   // T1
			ia = binary.BigEndian.AppendUint32(ia, LeaseSeconds*4/5) // T2
			b := a.As16()
			addr := append(b[:], 0, 0, 0, 0, 0, 0, 0, 0)
			binary.BigEndian.PutUint32(addr[16:], LeaseSeconds)
			binary.BigEndian.PutUint32(addr[20:], LeaseSeconds)
			ia = appendOpt6(ia, opt6IAAddr, addr)
			r = appendOpt6(r, opt6IANA, ia)
		} else {
			ia := append(append([]byte(nil), d.iaid...), 0, 0, 0, 0, 0, 0, 0, 0)
			ia = appendStatus6(ia, status6NoAddrs, "no addresses available")
			r = appendOpt6(r, opt6IANA, ia)
		}
	}
	if d.typ == dhcp6Solicit && d.rapid {
		r = appendOpt6(r, opt6RapidCommit, nil)
	}
	dns := s.r.dns6.As16()
	return appendOpt6(r, opt6DNSServers, dns[:])
}

// lease returns the address of the client's slot (reserving the first
// free one when commit), false when none is free.
func (s *dhcp6Server) lease(client []byte, commit bool) (netip.Addr, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	free := -1
	for i := range s.slots {
		if s.used[i] && s.slots[i] == string(client) {
			return addN6(s.r.dhcp6Start, uint32(i)), true
		}
		if !s.used[i] && free < 0 {
			free = i
		}
	}
	if free < 0 {
		return netip.Addr{}, false
	}
	if commit {
		s.slots[free], s.used[free] = string(client), true
	}
	return addN6(s.r.dhcp6Start, uint32(free)), true
}

// free ends the client's lease.
func (s *dhcp6Server) free(client []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.slots {
		if s.used[i] && s.slots[i] == string(client) {
			s.used[i] = false
		}
	}
}

func appendOpt6(b []byte, code uint16, v []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, code)
	b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
	return append(b, v...)
}

func appendStatus6(b []byte, code uint16, msg string) []byte {
	return appendOpt6(b, opt6StatusCode, append(binary.BigEndian.AppendUint16(nil, code), msg...))
}
