package cryptcab

import (
	"bytes"
	"testing"
)

func TestClassify(t *testing.T) {
	var k authKey
	var init [initLen]byte
	buildInit(&init, kindRekey, 9, 10, bytes.Repeat([]byte{7}, 32), &k)
	var resp [respLen]byte
	buildResp(&resp, init[:], 11, 12, bytes.Repeat([]byte{8}, 32), &k)
	var deny [denyLen]byte
	buildDeny(&deny, denyFull, 13)
	data := make([]byte, Overhead)
	putDataHeader(data, 14, 15)
	for _, tc := range []struct {
		name string
		p    []byte
		typ  byte
		err  error
	}{
		{"init", init[:], typeInit, nil},
		{"resp", resp[:], typeResp, nil},
		{"deny", deny[:], typeDeny, nil},
		{"keepalive", data, typeData, nil},
		{"empty", nil, 0, errShort},
		{"short data", data[:Overhead-1], 0, errShort},
		{"init too long", append(init[:], 0), 0, errLength},
		{"resp truncated", resp[:respLen-1], 0, errLength},
		{"bad type", []byte{9, 0, 0, 0}, 0, errType},
		{"init version", with(init[:], 1, 2), 0, errVersion},
		{"init kind", with(init[:], 2, 2), 0, errReserved},
		{"data reserved", with(data, 2, 1), 0, errReserved},
		{"resp reserved", with(resp[:], 13, 1), 0, errReserved},
		{"deny reason", with(deny[:], 2, 0), 0, errReserved},
		{"deny unknown reason", with(deny[:], 2, denyReasonInvalid), 0, errReserved},
		{"data counter", with(data, 15, 0xff), 0, errCounter},
	} {
		typ, err := classify(tc.p)
		if typ != tc.typ || err != tc.err {
			t.Errorf("%s: classify = %d, %v; want %d, %v", tc.name, typ, err, tc.typ, tc.err)
		}
	}
	if initSender(init[:]) != 9 || initAuthID(init[:]) != 10 || initKind(init[:]) != kindRekey ||
		respSender(resp[:]) != 11 || respReceiver(resp[:]) != 9 || respSession(resp[:]) != 12 || respKind(resp[:]) != kindRekey ||
		denyIndex(deny[:]) != 13 || denyReason(deny[:]) != denyFull || dataIndex(data) != 14 || dataCounter(data) != 15 {
		t.Fatal("fields do not round-trip")
	}
	if !verifyInit(&k, init[:]) || !verifyResp(&k, init[:], resp[:]) {
		t.Fatal("MACs do not verify")
	}
	k[0] ^= 1
	if verifyInit(&k, init[:]) || verifyResp(&k, init[:], resp[:]) {
		t.Fatal("MACs verify under another key")
	}
}

func with(p []byte, i int, v byte) []byte {
	q := bytes.Clone(p)
	q[i] = v
	return q
}

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Target
		vnl  bool
	}{
		{"host", Target{"", "host", 7667}, false},
		{"host:99", Target{"", "host", 99}, false},
		{"joe@10.0.0.1:1234", Target{"joe", "10.0.0.1", 1234}, false},
		{"a@b@host", Target{"a@b", "host", 7667}, false},
		{"[::1]:5000", Target{"", "::1", 5000}, false},
		{"[::1]", Target{"", "::1", 7667}, false},
		{"::1", Target{"", "::1", 7667}, false},
		{"u@::1:5000", Target{"u", "::1", 5000}, true},
		{"fe80::1", Target{"", "fe80::1", 7667}, true},
	} {
		parse := ParseTarget
		if tc.vnl {
			parse = parseVNLTarget
		}
		got, err := parse(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("%q: %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "user@", "host:0", "host:x", "host:70000", "[::1"} {
		if _, err := ParseTarget(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestPSKFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadPSK(dir + "/missing"); err == nil {
		t.Fatal("missing key file accepted")
	}
	if _, err := NewPSK([]byte("short")); err == nil {
		t.Fatal("short key accepted")
	}
	a, _ := NewPSK(bytes.Repeat([]byte{1}, 32))
	b, _ := NewPSK(bytes.Repeat([]byte{1}, 33))
	if a.key == b.key || a.key == (authKey{}) {
		t.Fatal("keys not derived from the whole file")
	}
}
