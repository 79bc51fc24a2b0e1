package cryptcab

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"
)

// FuzzClassify: the packet parser never panics, and what it accepts has
// the length and reserved bytes its type requires.
func FuzzClassify(f *testing.F) {
	var init [initLen]byte
	var k authKey
	buildInit(&init, kindFull, 1, 2, make([]byte, 32), &k)
	var resp [respLen]byte
	buildResp(&resp, init[:], 3, 4, make([]byte, 32), &k)
	var deny [denyLen]byte
	buildDeny(&deny, denyAuth, 5)
	data := make([]byte, Overhead+20)
	putDataHeader(data, 6, 7)
	for _, seed := range [][]byte{init[:], resp[:], deny[:], data, {}, {typeData}, {0xff, 0, 0, 0}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		typ, err := classify(p)
		if err != nil {
			return
		}
		switch typ {
		case typeData:
			if len(p) < Overhead || p[1]|p[2]|p[3] != 0 || dataCounter(p) >= rejectAfterMessages {
				t.Fatalf("accepted bad DATA % x", p)
			}
		case typeInit:
			if len(p) != initLen || p[1] != protoVersion || initKind(p) > kindRekey {
				t.Fatalf("accepted bad INIT % x", p)
			}
		case typeResp:
			if len(p) != respLen || p[1] != protoVersion || respKind(p) > kindRekey {
				t.Fatalf("accepted bad RESP % x", p)
			}
		case typeDeny:
			if len(p) != denyLen || denyText(denyReason(p), true) == "refused" {
				t.Fatalf("accepted bad DENY % x", p)
			}
		default:
			t.Fatalf("accepted type %d", typ)
		}
	})
}

// FuzzDatagram feeds arbitrary datagrams to a server and to a client that
// have an established session (seeded with real datagrams of that
// session, already delivered): nothing panics, and nothing the fuzzer
// makes is ever delivered as a frame or makes a session.
func FuzzDatagram(f *testing.F) {
	psk := newTestPSK(f)
	srv, err := Listen(ServerConfig{Addr: "127.0.0.1:0", PSK: &psk, Timing: testTiming})
	if err != nil {
		f.Fatal(err)
	}
	defer srv.Close()
	rl := newRelay(f, srv.Addr())
	c := dial(f, ClientConfig{Server: rl.Addr(), Auth: psk})
	s := accept(f, srv)
	up, down := readAll(s), readAll(c)
	fu, fd := frame(100, "up"), frame(100, "down")
	send(f, c, fu)
	send(f, s, fd)
	up.expect(f, "server", fu)
	down.expect(f, "client", fd)
	for _, p := range rl.wire() {
		f.Add(p)
	}
	// Where answers to fuzzed datagrams go: a socket nobody reads.
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		f.Fatal(err)
	}
	defer sink.Close()
	from := nameOf(sink.LocalAddr().(*net.UDPAddr).AddrPort(), srv.e.v6)
	fromServer := nameOf(rl.front.LocalAddr().(*net.UDPAddr).AddrPort(), c.e.v6)
	before, cbefore := srv.Stats(), c.Stats()
	f.Fuzz(func(t *testing.T, p []byte) {
		p = bytes.Clone(p) // the engine may not keep it
		for _, x := range []struct {
			e    *engine
			from *rawName
		}{{srv.e, &from}, {c.e, &fromServer}} {
			x.e.mu.Lock()
			x.e.process(p, x.from, x.e.now())
			x.e.flush()
			x.e.mu.Unlock()
		}
		if st := srv.Stats(); st.FramesIn != before.FramesIn || st.Handshakes != before.Handshakes {
			t.Fatalf("server delivered a fuzzed datagram: %+v", st)
		}
		if st := c.Stats(); st.FramesIn != cbefore.FramesIn {
			t.Fatalf("client delivered a fuzzed datagram: %+v", st)
		}
	})
}

// FuzzReplayWindow checks the window against a model that remembers
// every counter: fresh exactly when never accepted and not more than
// Window behind the highest.
func FuzzReplayWindow(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 2, 1, 0})
	f.Add(binary.LittleEndian.AppendUint64(nil, 5000))
	f.Fuzz(func(t *testing.T, in []byte) {
		var w replayWindow
		seen := map[uint64]bool{}
		var high uint64
		any := false
		for len(in) >= 2 {
			// Small steps around the highest, sometimes big jumps.
			var c uint64
			switch in[0] % 4 {
			case 0:
				c = high + uint64(in[1])
			case 1:
				c = high - min(high, uint64(in[1])*16)
			case 2:
				c = high + uint64(in[1])*64
			default:
				c = uint64(in[1])
			}
			in = in[2:]
			want := replayFresh
			switch {
			case any && c < high && high-c >= Window:
				want = replayTooOld
			case seen[c]:
				want = replaySeen
			}
			if got := w.check(c); got != want {
				t.Fatalf("counter %d (highest %d): verdict %d, want %d", c, high, got, want)
			}
			if want == replayFresh {
				w.accept(c)
				seen[c] = true
				if !any || c > high {
					high = c
				}
				any = true
			}
		}
	})
}
