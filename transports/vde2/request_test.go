package vde2

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// observedRequest is what the real vde_plug 4.0.1 sent to a real vde_switch
// (strace -e trace=sendto -xx of `vde_plug vde:///tmp/obsMgqJ/sw null://`):
// 149 bytes.
func observedRequest() []byte {
	p := []byte{0xce, 0xfa, 0xed, 0xfe, 0x03, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00}
	path := make([]byte, 108)
	copy(path, "/tmp/obsMgqJ/sw/.04321-00000")
	p = append(p, path...)
	return append(p, "vdeplug: user=root pid=4321"...)
}

// observedReply is the 110-byte reply the real switch sent to that request.
func observedReply() []byte {
	p := []byte{0x01, 0x00}
	path := make([]byte, 108)
	copy(path, "/tmp/obsMgqJ/sw/001.5")
	return append(p, path...)
}

func v3(word uint32, path, descr string) []byte {
	return EncodeRequest(Request{Type: int(word & 0xff), Port: int(word >> 8), ClientPath: path, Descr: descr})
}

func v1(word uint32, path, descr string) []byte {
	p := []byte{0xce, 0xfa, 0xed, 0xfe, byte(word), byte(word >> 8), byte(word >> 16), byte(word >> 24),
		2, 0, 0, 0, 0, 1} // type word, MAC
	p = append(p, EncodeSockaddr(path)...)
	return append(p, descr...)
}

func TestParseObservedRequest(t *testing.T) {
	req, err := ParseRequest(observedRequest())
	if err != nil {
		t.Fatal(err)
	}
	want := Request{Version: 3, Type: ReqNewControl, Port: 0, ClientPath: "/tmp/obsMgqJ/sw/.04321-00000",
		Descr: "vdeplug: user=root pid=4321", UID: -1}
	copy(want.RawAddr[:], want.ClientPath)
	if req != want {
		t.Fatalf("got %+v\nwant %+v", req, want)
	}
	// And our encoder produces the same bytes.
	if got := EncodeRequest(req); !bytes.Equal(got, observedRequest()) {
		t.Fatalf("EncodeRequest:\n%s\nwant\n%s", hex.Dump(got), hex.Dump(observedRequest()))
	}
	if len(observedRequest()) != 149 {
		t.Fatal("observed request is 149 bytes")
	}
	path, err := ParseSockaddr(observedReply())
	if err != nil || path != "/tmp/obsMgqJ/sw/001.5" {
		t.Fatalf("ParseSockaddr = %q, %v", path, err)
	}
	if !bytes.Equal(EncodeSockaddr(path), observedReply()) {
		t.Fatal("EncodeSockaddr differs from the observed reply")
	}
}

func TestParseRequest(t *testing.T) {
	long := strings.Repeat("d", 200)
	withNUL := append(v3(0, "/x/c", ""), "abc\x00def"...)
	abstract := v3(0, "", "abs")
	copy(abstract[14:], "\x00hidden")
	tests := []struct {
		name     string
		in       []byte
		err      error
		errText  string
		version  int
		typ      int
		port     int
		path     string
		descr    string
		checkRaw bool
	}{
		{name: "v3 any", in: v3(0, "/tmp/s/.1-0", "hello"), version: 3, path: "/tmp/s/.1-0", descr: "hello"},
		{name: "v3 port 5", in: v3(5<<8, "/p", ""), version: 3, port: 5, path: "/p"},
		{name: "v3 port 1000", in: v3(1000<<8, "/p", ""), version: 3, port: 1000, path: "/p"},
		{name: "v3 negative port", in: v3(0xffffff00, "/p", ""), version: 3, port: -1, path: "/p"},
		{name: "v3 port0", in: v3(ReqNewPort0|7<<8, "/p", "m"), version: 3, typ: ReqNewPort0, port: 0, path: "/p", descr: "m"},
		{name: "v1 any", in: v1(0, "/old/sock", "legacy"), version: 1, path: "/old/sock", descr: "legacy"},
		{name: "v1 port0", in: v1(1, "/old/sock", ""), version: 1, typ: ReqNewPort0, path: "/old/sock"},
		{name: "descr cut at NUL", in: withNUL, version: 3, path: "/x/c", descr: "abc"},
		{name: "descr cut at 256 bytes", in: v3(0, "/p", long), version: 3, path: "/p", descr: long[:MaxDescr]},
		{name: "abstract", in: abstract, version: 3, path: "", descr: "abs", checkRaw: true},
		{name: "no descr", in: v3(0, "/p", "")[:v3Fixed], version: 3, path: "/p"},
		{name: "wrong magic", in: append([]byte{1, 2, 3, 4}, v3(0, "/p", "")[4:]...), err: ErrV0, errText: "V0 request not supported"},
		{name: "version 2", in: func() []byte { p := v3(0, "/p", ""); p[4] = 2; return p }(),
			errText: "Request for a version 2 port, which this vde_switch doesn't support"},
		{name: "version 7", in: func() []byte { p := v3(0, "/p", ""); p[4] = 7; return p }(),
			errText: "Request for a version 7 port, which this vde_switch doesn't support"},
		{name: "type 5", in: v3(5, "/p", ""), errText: "Bad request type : 5"},
		{name: "v1 type 0x101", in: func() []byte { p := v1(0, "/p", ""); p[4], p[5] = 1, 1; return p }(),
			errText: "Request for a version 257 port, which this vde_switch doesn't support"},
		{name: "truncated 20", in: v3(0, "/p", "")[:20], err: ErrTruncated},
		{name: "truncated v1", in: v1(0, "/p", "")[:100], err: ErrTruncated},
		{name: "truncated 3", in: []byte{0xce, 0xfa, 0xed}, err: ErrTruncated},
		{name: "magic only", in: []byte{0xce, 0xfa, 0xed, 0xfe}, err: ErrTruncated},
		{name: "empty", in: nil, err: ErrTruncated},
		{name: "garbage", in: bytes.Repeat([]byte{0x5a}, 300), err: ErrV0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := ParseRequest(tc.in)
			if tc.err != nil || tc.errText != "" {
				if err == nil {
					t.Fatalf("no error, got %+v", req)
				}
				if tc.err != nil && !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				if tc.errText != "" && err.Error() != tc.errText {
					t.Fatalf("err = %q, want %q", err, tc.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if req.Version != tc.version || req.Type != tc.typ || req.Port != tc.port ||
				req.ClientPath != tc.path || req.Descr != tc.descr || req.UID != -1 {
				t.Fatalf("got %+v", req)
			}
			if tc.checkRaw && !bytes.HasPrefix(req.RawAddr[:], []byte("\x00hidden\x00")) {
				t.Fatalf("RawAddr = %q", req.RawAddr[:10])
			}
		})
	}
}

func TestVersionAndTypeErrors(t *testing.T) {
	_, err := ParseRequest(v3(0x203, "/p", ""))
	var te *TypeError
	if !errors.As(err, &te) || te.Type != 3 {
		t.Fatalf("err = %v", err)
	}
	p := v3(0, "/p", "")
	p[4] = 9
	_, err = ParseRequest(p)
	var ve *VersionError
	if !errors.As(err, &ve) || ve.Version != 9 {
		t.Fatalf("err = %v", err)
	}
}

func TestEncodeRequest(t *testing.T) {
	p := EncodeRequest(Request{Type: ReqNewControl, Port: 5, ClientPath: "/d/.00001-00000", Descr: "x"})
	if len(p) != v3Fixed+1 {
		t.Fatalf("len %d", len(p))
	}
	if !bytes.Equal(p[:14], []byte{0xce, 0xfa, 0xed, 0xfe, 3, 0, 0, 0, 0x00, 0x05, 0, 0, 1, 0}) {
		t.Fatalf("header % x", p[:14])
	}
	p = EncodeRequest(Request{Type: ReqNewPort0, Port: 5, ClientPath: "/d"})
	if !bytes.Equal(p[8:12], []byte{1, 0, 0, 0}) {
		t.Fatalf("port0 word % x", p[8:12])
	}
	// An over-long path keeps a terminating NUL.
	p = EncodeRequest(Request{ClientPath: strings.Repeat("a", 200)})
	if p[12+SockaddrLen-1] != 0 || p[12+SockaddrLen-2] != 'a' {
		t.Fatal("long path not NUL-terminated in sun_path")
	}
}

func TestModes(t *testing.T) {
	tests := []struct {
		mode, dirmode   int
		modeSet, dirSet bool
		ctl, dir        int
	}{
		{0, 0, false, false, 0600, 02700},
		{0660, 0, true, false, 0660, 02770},
		{0666, 0, true, false, 0666, 02777},
		{0600, 0, true, false, 0600, 02700},
		{0640, 0, true, false, 0640, 02750},
		{0604, 0, true, false, 0604, 02705},
		{0, 0750, false, true, 0640, 0750},
		{0, 02777, false, true, 0666, 02777},
		{0644, 0711, true, true, 0644, 0711},
	}
	for _, tc := range tests {
		ctl, dir, ep := Modes(tc.mode, tc.dirmode, tc.modeSet, tc.dirSet)
		if ctl != tc.ctl || dir != tc.dir || ep != tc.ctl {
			t.Errorf("Modes(%#o, %#o, %v, %v) = %#o %#o %#o, want %#o %#o %#o",
				tc.mode, tc.dirmode, tc.modeSet, tc.dirSet, ctl, dir, ep, tc.ctl, tc.dir, tc.ctl)
		}
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add(observedRequest())
	f.Add(v1(0, "/old", "d"))
	f.Add(v1(1, "", ""))
	f.Add(v3(5<<8, "/p", "descr"))
	f.Add(v3(ReqNewPort0, "/p", ""))
	f.Add([]byte{0xce, 0xfa, 0xed, 0xfe, 2, 0, 0, 0})
	f.Add(bytes.Repeat([]byte{0xff}, 300))
	f.Fuzz(func(t *testing.T, p []byte) {
		req, err := ParseRequest(p)
		if err != nil {
			return
		}
		if req.Version != 1 && req.Version != 3 {
			t.Fatalf("version %d accepted", req.Version)
		}
		if req.Type != ReqNewControl && req.Type != ReqNewPort0 {
			t.Fatalf("type %d accepted", req.Type)
		}
		if len(req.Descr) > MaxDescr || strings.IndexByte(req.Descr, 0) >= 0 {
			t.Fatalf("descr %q", req.Descr)
		}
		if strings.IndexByte(req.ClientPath, 0) >= 0 || len(req.ClientPath) > SunPathLen {
			t.Fatalf("path %q", req.ClientPath)
		}
		// Re-encoding as v3 and parsing again keeps the meaning.
		again, err := ParseRequest(EncodeRequest(req))
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if req.ClientPath != "" && len(req.ClientPath) < SunPathLen {
			// a path without a NUL within sun_path is cut by the encoder
			if again.ClientPath != req.ClientPath {
				t.Fatalf("path %q -> %q", req.ClientPath, again.ClientPath)
			}
		}
		if again.Type != req.Type || again.Port != req.Port || again.Descr != req.Descr {
			t.Fatalf("round trip %+v -> %+v", req, again)
		}
	})
}
