// Package offloadtest holds test support for packet checksums, written
// independently of package offload so that its tests and those of its
// users check it against a second implementation.
package offloadtest

// Checksum is a naive Internet checksum (RFC 1071) of the concatenation
// of parts: the sum of 16-bit words, folded, complemented.
func Checksum(parts ...[]byte) uint16 {
	var all []byte
	for _, p := range parts {
		all = append(all, p...)
	}
	if len(all)%2 == 1 {
		all = append(all, 0)
	}
	var s uint32
	for i := 0; i < len(all); i += 2 {
		s += uint32(all[i])<<8 | uint32(all[i+1])
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

// PseudoHeader is the TCP/UDP pseudo-header of the IP packet ip (IPv6
// when v6) for protocol proto and a transport length of l4len, built by
// hand.
func PseudoHeader(ip []byte, v6 bool, proto byte, l4len int) []byte {
	if v6 {
		p := append([]byte(nil), ip[8:40]...)
		return append(p, byte(l4len>>24), byte(l4len>>16), byte(l4len>>8), byte(l4len), 0, 0, 0, proto)
	}
	p := append([]byte(nil), ip[12:20]...)
	return append(p, 0, proto, byte(l4len>>8), byte(l4len))
}
