package cryptcab

import (
	"encoding/binary"
	"errors"
)

// Packet types: the first byte of every datagram.
const (
	typeInit = 1 // client → server: handshake initiation
	typeResp = 2 // server → client: handshake response
	typeDeny = 3 // server → client: handshake refused, or unknown session
	typeData = 4 // either way: one encrypted frame (empty: keepalive)
)

// protoVersion is carried by the handshake messages; a server refuses
// initiations of another version with denyVersion.
const protoVersion = 1

// Handshake kinds (byte 2 of INIT and RESP).
const (
	kindFull  = 0 // a new session, authenticated by a pre-shared key or an SSH ticket
	kindRekey = 1 // new keys for an existing session, authenticated by its resumption key
)

// Wire sizes.
const (
	initLen = 80 // type ver kind 0 | sender u32 | auth id u64 | ephemeral 32 | MAC 32
	initMAC = 48 // the MAC covers init[:initMAC]
	respLen = 88 // type ver kind 0 | sender u32 | receiver u32 | 0 u32 | session u64 | ephemeral 32 | MAC 32
	respMAC = 56 // the MAC covers the whole INIT and resp[:respMAC]
	denyLen = 8  // type ver reason 0 | index u32

	// dataHeaderLen is the DATA header: type 0 0 0 | receiver index u32 |
	// counter u64, all little endian; it is the AEAD's additional data.
	dataHeaderLen = 16
	tagLen        = 16 // Poly1305 tag
	// Overhead is what a DATA datagram adds to the frame it carries.
	Overhead = dataHeaderLen + tagLen
)

// Deny reasons (byte 2 of DENY).
const (
	denyAuth          = 1 // the MAC did not verify: wrong key
	denyUnknownAuth   = 2 // unknown or expired ticket, or unknown session for a rekey
	denyFull          = 3 // the server has no room for another session
	denyVersion       = 4 // unsupported protocol version
	denyUnknownIndex  = 5 // a DATA datagram named no current session
	denyNotAccepted   = 6 // this kind of authentication is not enabled on the server
	denyReasonInvalid = 7 // first value not used
)

// Parse errors. They only feed counters; none is ever shown per packet.
var (
	errShort    = errors.New("cryptcab: datagram too short")
	errLength   = errors.New("cryptcab: wrong length for its type")
	errType     = errors.New("cryptcab: unknown packet type")
	errVersion  = errors.New("cryptcab: unsupported version")
	errReserved = errors.New("cryptcab: reserved bits set")
	errCounter  = errors.New("cryptcab: counter out of range")
)

// rejectAfterMessages is the hard limit of a key's counter: far below the
// 2^64 nonces ChaCha20-Poly1305 allows, far above any rekey setting.
const rejectAfterMessages = 1 << 60

// classify checks the framing of a datagram (type, length, version,
// reserved bytes, counter range) and returns its type. It never looks at
// authenticated contents; a datagram that passes still has to verify.
// It does not allocate.
func classify(p []byte) (byte, error) {
	if len(p) < 4 {
		return 0, errShort
	}
	switch p[0] {
	case typeData:
		if len(p) < dataHeaderLen+tagLen {
			return 0, errShort
		}
		if p[1]|p[2]|p[3] != 0 {
			return 0, errReserved
		}
		if dataCounter(p) >= rejectAfterMessages {
			return 0, errCounter
		}
	case typeInit:
		if len(p) != initLen {
			return 0, errLength
		}
		if p[1] != protoVersion {
			return 0, errVersion
		}
		if p[2] > kindRekey || p[3] != 0 {
			return 0, errReserved
		}
	case typeResp:
		if len(p) != respLen {
			return 0, errLength
		}
		if p[1] != protoVersion {
			return 0, errVersion
		}
		if p[2] > kindRekey || p[3] != 0 || binary.LittleEndian.Uint32(p[12:16]) != 0 {
			return 0, errReserved
		}
	case typeDeny:
		if len(p) != denyLen {
			return 0, errLength
		}
		if p[1] != protoVersion {
			return 0, errVersion
		}
		if p[2] == 0 || p[2] >= denyReasonInvalid || p[3] != 0 {
			return 0, errReserved
		}
	default:
		return 0, errType
	}
	return p[0], nil
}

// DATA fields.

func dataIndex(p []byte) uint32   { return binary.LittleEndian.Uint32(p[4:8]) }
func dataCounter(p []byte) uint64 { return binary.LittleEndian.Uint64(p[8:16]) }

// putDataHeader writes a DATA header into p[:dataHeaderLen].
func putDataHeader(p []byte, receiver uint32, counter uint64) {
	p[0], p[1], p[2], p[3] = typeData, 0, 0, 0
	binary.LittleEndian.PutUint32(p[4:8], receiver)
	binary.LittleEndian.PutUint64(p[8:16], counter)
}

// putNonce writes the ChaCha20-Poly1305 nonce of counter: four zero bytes
// and the counter, little endian.
func putNonce(n *[12]byte, counter uint64) {
	n[0], n[1], n[2], n[3] = 0, 0, 0, 0
	binary.LittleEndian.PutUint64(n[4:], counter)
}

// INIT fields.

func initKind(p []byte) byte              { return p[2] }
func initSender(p []byte) uint32          { return binary.LittleEndian.Uint32(p[4:8]) }
func initAuthID(p []byte) uint64          { return binary.LittleEndian.Uint64(p[8:16]) }
func initEphemeral(p []byte) (k [32]byte) { copy(k[:], p[16:48]); return }

func buildInit(p *[initLen]byte, kind byte, sender uint32, authID uint64, eph []byte, key *authKey) {
	p[0], p[1], p[2], p[3] = typeInit, protoVersion, kind, 0
	binary.LittleEndian.PutUint32(p[4:8], sender)
	binary.LittleEndian.PutUint64(p[8:16], authID)
	copy(p[16:48], eph)
	m := macInit(key, p[:initMAC])
	copy(p[initMAC:], m[:])
}

// RESP fields.

func respKind(p []byte) byte        { return p[2] }
func respSender(p []byte) uint32    { return binary.LittleEndian.Uint32(p[4:8]) }
func respReceiver(p []byte) uint32  { return binary.LittleEndian.Uint32(p[8:12]) }
func respSession(p []byte) uint64   { return binary.LittleEndian.Uint64(p[16:24]) }
func respEphemeral(p []byte) []byte { return p[24:56] }

func buildResp(p *[respLen]byte, init []byte, sender uint32, session uint64, eph []byte, key *authKey) {
	p[0], p[1], p[2], p[3] = typeResp, protoVersion, initKind(init), 0
	binary.LittleEndian.PutUint32(p[4:8], sender)
	binary.LittleEndian.PutUint32(p[8:12], initSender(init))
	binary.LittleEndian.PutUint32(p[12:16], 0)
	binary.LittleEndian.PutUint64(p[16:24], session)
	copy(p[24:56], eph)
	m := macResp(key, init, p[:respMAC])
	copy(p[respMAC:], m[:])
}

// DENY fields.

func denyReason(p []byte) byte  { return p[2] }
func denyIndex(p []byte) uint32 { return binary.LittleEndian.Uint32(p[4:8]) }

func buildDeny(p *[denyLen]byte, reason byte, index uint32) {
	p[0], p[1], p[2], p[3] = typeDeny, protoVersion, reason, 0
	binary.LittleEndian.PutUint32(p[4:8], index)
}

// denyText explains a DENY reason to the user of a client.
func denyText(reason byte, psk bool) string {
	switch reason {
	case denyAuth:
		if psk {
			return "authentication failed (wrong pre-shared key?)"
		}
		return "authentication failed (the ticket did not verify)"
	case denyUnknownAuth:
		return "unknown or expired ticket or session"
	case denyFull:
		return "the server has no room for another session"
	case denyVersion:
		return "protocol version not supported by the server"
	case denyUnknownIndex:
		return "the server does not know this session"
	case denyNotAccepted:
		if psk {
			return "the server does not accept pre-shared keys (it authenticates clients with ssh)"
		}
		return "the server does not accept ssh tickets (it uses a pre-shared key: give -P)"
	}
	return "refused"
}
