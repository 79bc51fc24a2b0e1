package frames

// Ethernet and 802.1Q helpers on raw frame bytes. Callers guarantee
// len(p) >= MinFrame.

const (
	// TPID8021Q is the 802.1Q tag protocol id.
	TPID8021Q = 0x8100
	// VLANNone is vde_switch's "no untagged VLAN" marker.
	VLANNone = 4095
)

// Dst returns the destination MAC.
func Dst(p []byte) MAC { return MAC(p[0:6]) }

// Src returns the source MAC.
func Src(p []byte) MAC { return MAC(p[6:12]) }

// DstIsMulticast reports whether the destination has the group bit set.
func DstIsMulticast(p []byte) bool { return p[0]&1 != 0 }

// SrcIsMulticast reports whether the source has the group bit set.
func SrcIsMulticast(p []byte) bool { return p[6]&1 != 0 }

// EtherType returns bytes 12-13 (the TPID for tagged frames).
func EtherType(p []byte) uint16 { return uint16(p[12])<<8 | uint16(p[13]) }

// IsTagged reports whether the frame carries an 802.1Q tag (and is long
// enough to hold it).
func IsTagged(p []byte) bool { return len(p) >= 16 && p[12] == 0x81 && p[13] == 0x00 }

// TCI returns the tag control information of a tagged frame.
func TCI(p []byte) uint16 { return uint16(p[14])<<8 | uint16(p[15]) }

// VID returns the VLAN id of a tagged frame.
func VID(p []byte) uint16 { return TCI(p) & 0x0fff }

// IsBPDUDst reports whether the destination is the spanning-tree group
// address 01:80:c2:00:00:00.
func IsBPDUDst(p []byte) bool {
	return p[0] == 0x01 && p[1] == 0x80 && p[2] == 0xc2 && p[3] == 0 && p[4] == 0 && p[5] == 0
}

// TCPContinues reports whether frame p (untagged or with one 802.1Q tag)
// carries a TCP segment with payload and no flag but ACK: the middle of a
// burst whose next segments are on their way (the sender sets PSH on the
// last segment of what it had to send). A cheap look at the headers, not a
// validation.
func TCPContinues(p []byte) bool {
	off := 12
	if len(p) >= 18 && p[12] == 0x81 && p[13] == 0x00 {
		off = 16
	}
	if len(p) < off+2+40 {
		return false
	}
	ip := p[off+2:]
	var l4, end int
	switch uint16(p[off])<<8 | uint16(p[off+1]) {
	case 0x0800:
		if ip[0]>>4 != 4 || ip[9] != 6 {
			return false
		}
		l4, end = int(ip[0]&0xf)*4, int(ip[2])<<8|int(ip[3])
	case 0x86dd:
		if len(ip) < 60 || ip[6] != 6 {
			return false
		}
		l4, end = 40, 40+(int(ip[4])<<8|int(ip[5]))
	default:
		return false
	}
	if l4 < 20 || end > len(ip) || end < l4+20 {
		return false
	}
	tcp := ip[l4:end]
	return tcp[13] == 0x10 && l4+int(tcp[12]>>4)*4 < end
}
