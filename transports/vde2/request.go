// Package vde2 speaks vde_switch's control protocol, both sides, byte-compatible
// with Debian's vde_switch 2.3.2 and vdeplug 4.0.1:
//
//   - the request a client writes on a fresh connection to DIR/ctl and the
//     110-byte sockaddr_un reply (ParseRequest, EncodeRequest, EncodeSockaddr);
//   - the switch side: a Server owning a switch directory, accepting
//     connections, creating one Endpoint (a datagram socket DIR/NNN.ID) per
//     client and handing it to an Attacher;
//   - the client side (what vdeplug4's vde:// module does): Dial.
//
// All integers of the protocol are in host byte order, which is little endian
// on every platform govde supports.
package vde2

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Protocol constants.
const (
	// Magic is SWITCH_MAGIC, the first word of every request.
	Magic = 0xfeedface
	// ReqNewControl asks for a port (any, or the one in the port bits).
	ReqNewControl = 0
	// ReqNewPort0 asks for port 0, the management client port.
	ReqNewPort0 = 1
	// SockaddrLen is sizeof(struct sockaddr_un) on Linux: the size of the
	// switch's reply and of the address field in requests.
	SockaddrLen = 110
	// SunPathLen is the size of sun_path.
	SunPathLen = SockaddrLen - 2
	// MaxRequest is how much the switch reads for a request.
	MaxRequest = 256
	// v3Fixed and v1Fixed are the sizes of the fixed parts (before the
	// description) of the two request layouts.
	v3Fixed = 12 + SockaddrLen
	v1Fixed = 8 + 6 + SockaddrLen
	// MaxDescr is the longest description a v3 request can carry.
	MaxDescr = MaxRequest - v3Fixed
)

// Request is a parsed connection request.
type Request struct {
	// Version is 3, or 1 for the old layout (version word 0 or 1).
	Version int
	// Type is ReqNewControl or ReqNewPort0.
	Type int
	// Port is the requested port: 0 = any; always 0 for ReqNewPort0 (the
	// port bits are ignored then; the port is 0 by definition). A request
	// word with the top bit set yields a negative port, as in the C switch.
	Port int
	// ClientPath is the path of the client's bound data socket, "" when the
	// address is abstract or unnamed (sun_path starts with NUL).
	ClientPath string
	// RawAddr is sun_path exactly as received (the switch connects to it;
	// needed for abstract addresses).
	RawAddr [SunPathLen]byte
	// Descr is the description (what port/print shows), cut at the first
	// NUL or the end of the request.
	Descr string
	// UID is the owner of ClientPath, filled in by the server after its
	// access check; -1 = unknown (abstract address, or not checked yet).
	UID int
}

// Errors of ParseRequest. The messages of ErrV0 and of *VersionError and
// *TypeError are vde_switch's log lines.
var (
	// ErrV0 is returned for a wrong magic word.
	ErrV0 = errors.New("V0 request not supported")
	// ErrTruncated is returned for a request shorter than its fixed part.
	ErrTruncated = errors.New("Truncated request")
)

// VersionError is returned for version 2 or above 3.
type VersionError struct{ Version uint32 }

func (e *VersionError) Error() string {
	return fmt.Sprintf("Request for a version %d port, which this vde_switch doesn't support", e.Version)
}

// TypeError is returned for a request type other than ReqNewControl and
// ReqNewPort0.
type TypeError struct{ Type int }

func (e *TypeError) Error() string { return fmt.Sprintf("Bad request type : %d", e.Type) }

// ParseRequest parses what the switch read from a new control connection,
// following vde_switch 2.3.2: magic first (else ErrV0), then version 3 ->
// v3 layout, version 2 or > 3 -> *VersionError, version 0 or 1 -> v1 layout
// (magic, type word, 6-byte MAC, sockaddr_un, description). The type word's
// low 8 bits are the type (else *TypeError), the bits above are the port.
// Requests shorter than their layout's fixed part give an error wrapping
// ErrTruncated. Only the first MaxRequest bytes of p are looked at (all the
// switch reads). p is not retained.
func ParseRequest(p []byte) (Request, error) {
	req := Request{UID: -1}
	if len(p) > MaxRequest {
		p = p[:MaxRequest] // all the switch reads
	}
	if len(p) < 4 {
		return req, fmt.Errorf("%w (%d bytes)", ErrTruncated, len(p))
	}
	le := binary.LittleEndian
	if le.Uint32(p) != Magic {
		return req, ErrV0
	}
	if len(p) < 8 {
		return req, fmt.Errorf("%w (%d bytes)", ErrTruncated, len(p))
	}
	version := le.Uint32(p[4:])
	var word uint32
	var addr, descr []byte
	switch {
	case version == 3:
		if len(p) < v3Fixed {
			return req, fmt.Errorf("%w (%d bytes, v3 needs %d)", ErrTruncated, len(p), v3Fixed)
		}
		req.Version = 3
		word = le.Uint32(p[8:])
		addr, descr = p[12:v3Fixed], p[v3Fixed:]
	case version >= 2:
		return req, &VersionError{version}
	default:
		if len(p) < v1Fixed {
			return req, fmt.Errorf("%w (%d bytes, v1 needs %d)", ErrTruncated, len(p), v1Fixed)
		}
		req.Version = 1
		word = version
		addr, descr = p[14:v1Fixed], p[v1Fixed:]
	}
	req.Type = int(word & 0xff)
	switch req.Type {
	case ReqNewControl:
		req.Port = int(int32(word) >> 8)
	case ReqNewPort0:
	default:
		return req, &TypeError{req.Type}
	}
	// addr[0:2] is sun_family; the C switch ignores it.
	copy(req.RawAddr[:], addr[2:])
	req.ClientPath = cstring(req.RawAddr[:])
	req.Descr = cstring(descr)
	return req, nil
}

// cstring returns p up to its first NUL.
func cstring(p []byte) string {
	if i := bytes.IndexByte(p, 0); i >= 0 {
		p = p[:i]
	}
	return string(p)
}

// EncodeRequest returns the bytes a client sends: always the v3 layout
// (magic, 3, type word = Type + Port<<8 for ReqNewControl, sockaddr_un of
// ClientPath or, when ClientPath is empty, of RawAddr), then Descr without
// a terminating NUL, cut to MaxDescr bytes. Version and UID are ignored.
// A ClientPath longer than SunPathLen-1 bytes is cut.
func EncodeRequest(r Request) []byte {
	d := r.Descr
	if len(d) > MaxDescr {
		d = d[:MaxDescr]
	}
	p := make([]byte, v3Fixed+len(d))
	le := binary.LittleEndian
	le.PutUint32(p, Magic)
	le.PutUint32(p[4:], 3)
	word := uint32(r.Type) & 0xff
	if r.Type == ReqNewControl {
		word |= uint32(r.Port) << 8
	}
	le.PutUint32(p[8:], word)
	if r.ClientPath != "" {
		putSockaddr(p[12:v3Fixed], r.ClientPath)
	} else {
		le.PutUint16(p[12:], 1)
		copy(p[14:v3Fixed], r.RawAddr[:])
	}
	copy(p[v3Fixed:], d)
	return p
}

// putSockaddr writes a sockaddr_un (AF_UNIX, NUL-padded path, cut to leave
// a terminating NUL) into p, which must be SockaddrLen bytes.
func putSockaddr(p []byte, path string) {
	binary.LittleEndian.PutUint16(p, 1)
	clear(p[2:SockaddrLen])
	if len(path) > SunPathLen-1 {
		path = path[:SunPathLen-1]
	}
	copy(p[2:], path)
}

// EncodeSockaddr returns the 110-byte sockaddr_un for path: the switch's
// reply to a request.
func EncodeSockaddr(path string) []byte {
	p := make([]byte, SockaddrLen)
	putSockaddr(p, path)
	return p
}

// ParseSockaddr returns the path of a sockaddr_un as read from the switch
// (up to the first NUL; the family is not checked, as vdeplug does not).
// It fails only if p is too short to hold the family.
func ParseSockaddr(p []byte) (string, error) {
	if len(p) < 2 {
		return "", fmt.Errorf("vde2: short sockaddr_un (%d bytes)", len(p))
	}
	return cstring(p[2:]), nil
}
