// Package vxnet is the code vxlan:// and vxvde:// share: the 8-byte VXLAN
// header of RFC 7348 and its parser, the MAC → peer table with expiry,
// address and option parsing, UDP socket set-up (multicast membership, TTL,
// packet info) and batched datagram I/O that strips and prepends the header
// without copying frames.
//
// Nothing here allocates per frame: the receive and send paths work on
// arrays preallocated per socket, the table on a fixed array of entries.
package vxnet

import "github.com/govde/govde/frames"

// HeaderLen is the size of the VXLAN header in front of every frame.
const HeaderLen = 8

// FlagI is the "valid VNI" flag, the only flag RFC 7348 defines.
const FlagI = 0x08

// MaxVNI is the largest VXLAN network identifier (24 bits).
const MaxVNI = 1<<24 - 1

// Header is the 8-byte VXLAN header: flags, 3 reserved bytes, the 24-bit
// VNI in network order, 1 reserved byte. vxvde uses the same layout.
type Header [HeaderLen]byte

// NewHeader returns the header a sender puts in front of its frames: the I
// flag, vni (its low 24 bits) and zeros elsewhere.
func NewHeader(vni uint32) Header {
	return Header{FlagI, 0, 0, 0, byte(vni >> 16), byte(vni >> 8), byte(vni), 0}
}

// VNI returns the header's network identifier.
func (h Header) VNI() uint32 { return uint32(h[4])<<16 | uint32(h[5])<<8 | uint32(h[6]) }

// Kind classifies a received datagram.
type Kind uint8

// The kinds of datagram Classify tells apart.
const (
	// KindFrame: the header matches and an Ethernet frame of at least
	// frames.MinFrame bytes follows.
	KindFrame Kind = iota
	// KindGoodbye: the header matches and nothing follows (vxvde's "this
	// sender leaves" message).
	KindGoodbye
	// KindShort: shorter than the header.
	KindShort
	// KindRunt: the header matches but the frame is shorter than
	// frames.MinFrame bytes.
	KindRunt
	// KindForeign: the header does not match (another VNI, a missing I
	// flag, or, for exact matching, any other difference).
	KindForeign
)

var kindNames = [...]string{"frame", "goodbye", "short", "runt", "foreign"}

// String returns a lower-case name of the kind.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "invalid"
}

// Match is how a receiver checks headers.
type Match struct {
	// Want is the receiver's own header (NewHeader of its VNI).
	Want Header
	// Exact requires all 8 bytes to equal Want, as vxvde does. Otherwise
	// (vxlan) only the I flag and the VNI are checked and the reserved
	// bits are ignored, as RFC 7348 asks of receivers.
	Exact bool
}

// Classify classifies a datagram whose first min(n, 8) bytes are hdr and
// whose frame (the bytes after the header) is frameLen bytes long; n is
// len(hdr)+frameLen. hdr shorter than HeaderLen means a short datagram.
func (m Match) Classify(hdr []byte, frameLen int) Kind {
	if len(hdr) < HeaderLen || frameLen < 0 {
		return KindShort
	}
	if m.Exact {
		if Header(hdr[:HeaderLen]) != m.Want {
			return KindForeign
		}
	} else if hdr[0]&FlagI == 0 || hdr[4] != m.Want[4] || hdr[5] != m.Want[5] || hdr[6] != m.Want[6] {
		return KindForeign
	}
	switch {
	case frameLen == 0:
		return KindGoodbye
	case frameLen < frames.MinFrame:
		return KindRunt
	}
	return KindFrame
}

// Parse classifies a whole datagram and returns the frame it carries (a
// sub-slice of pkt; empty unless the kind is KindFrame or KindRunt).
func (m Match) Parse(pkt []byte) (Kind, []byte) {
	if len(pkt) < HeaderLen {
		return KindShort, nil
	}
	k := m.Classify(pkt[:HeaderLen], len(pkt)-HeaderLen)
	switch k {
	case KindFrame, KindRunt:
		return k, pkt[HeaderLen:]
	}
	return k, nil
}

// Append appends h and frame to dst and returns the datagram.
func Append(dst []byte, h Header, frame []byte) []byte {
	dst = append(dst, h[:]...)
	return append(dst, frame...)
}
