package frames

import (
	"errors"
	"strconv"
	"strings"
)

// MAC is a 48-bit Ethernet address.
type MAC [6]byte

// Broadcast is ff:ff:ff:ff:ff:ff.
var Broadcast = MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// IsMulticast reports whether the group bit is set (broadcast included).
func (m MAC) IsMulticast() bool { return m[0]&1 != 0 }

// String formats as 02:00:00:00:00:0a.
func (m MAC) String() string {
	const hex = "0123456789abcdef"
	var s [17]byte
	for i, c := range m {
		if i > 0 {
			s[i*3-1] = ':'
		}
		s[i*3] = hex[c>>4]
		s[i*3+1] = hex[c&15]
	}
	return string(s[:])
}

// ParseMAC accepts six hex fields separated by ':' or '.' (as vde_switch's
// --macaddr and hash/find do); fields may have one or two digits.
func ParseMAC(s string) (MAC, error) {
	var m MAC
	sep := ":"
	if !strings.Contains(s, ":") {
		sep = "."
	}
	parts := strings.Split(s, sep)
	if len(parts) != 6 {
		return m, errors.New("invalid MAC address " + strconv.Quote(s))
	}
	for i, p := range parts {
		if len(p) == 0 || len(p) > 2 {
			return m, errors.New("invalid MAC address " + strconv.Quote(s))
		}
		v, err := strconv.ParseUint(p, 16, 8)
		if err != nil {
			return m, errors.New("invalid MAC address " + strconv.Quote(s))
		}
		m[i] = byte(v)
	}
	return m, nil
}

// Key packs a MAC and a VLAN id into one comparable integer (MAC in the low
// 48 bits, VLAN above), the key of the switch's MAC table.
func Key(m MAC, vlan uint16) uint64 {
	return uint64(m[0]) | uint64(m[1])<<8 | uint64(m[2])<<16 | uint64(m[3])<<24 |
		uint64(m[4])<<32 | uint64(m[5])<<40 | uint64(vlan)<<48
}

// KeyOf reads the MAC at p[0:6] straight into a key with the given VLAN.
func KeyOf(p []byte, vlan uint16) uint64 {
	_ = p[5]
	return uint64(p[0]) | uint64(p[1])<<8 | uint64(p[2])<<16 | uint64(p[3])<<24 |
		uint64(p[4])<<32 | uint64(p[5])<<40 | uint64(vlan)<<48
}

// KeyMAC and KeyVLAN split a key.
func KeyMAC(k uint64) MAC {
	return MAC{byte(k), byte(k >> 8), byte(k >> 16), byte(k >> 24), byte(k >> 32), byte(k >> 40)}
}

// KeyVLAN returns the VLAN part of a key.
func KeyVLAN(k uint64) uint16 { return uint16(k >> 48) }
