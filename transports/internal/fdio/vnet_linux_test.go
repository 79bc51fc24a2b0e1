package fdio

import (
	"bytes"
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports/internal/offload"
	"github.com/govde/govde/transports/internal/offload/offloadtest"
)

// tcp4 builds an Ethernet/IPv4/TCP frame with correct checksums.
func tcp4(seq uint32, flags byte, id uint16, data []byte) []byte {
	f := make([]byte, 54+len(data))
	copy(f, []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0})
	ip := f[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(40+len(data)))
	binary.BigEndian.PutUint16(ip[4:], id)
	ip[6], ip[8], ip[9] = 0x40, 64, 6
	copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	binary.BigEndian.PutUint16(ip[10:], offloadtest.Checksum(ip[:20]))
	tcp := f[34:]
	binary.BigEndian.PutUint16(tcp[0:], 40000)
	binary.BigEndian.PutUint16(tcp[2:], 5201)
	binary.BigEndian.PutUint32(tcp[4:], seq)
	binary.BigEndian.PutUint32(tcp[8:], 1)
	tcp[12], tcp[13] = 0x50, flags
	binary.BigEndian.PutUint16(tcp[14:], 1000)
	copy(tcp[20:], data)
	binary.BigEndian.PutUint16(tcp[16:], offloadtest.Checksum(offloadtest.PseudoHeader(ip, false, 6, len(tcp)), tcp))
	return f
}

func verify4(t *testing.T, f []byte) {
	t.Helper()
	ip := f[14:]
	if n := int(binary.BigEndian.Uint16(ip[2:])); n != len(ip) || offloadtest.Checksum(ip[:20]) != 0 {
		t.Fatalf("bad IPv4 header (length %d of %d)", n, len(ip))
	}
	if offloadtest.Checksum(offloadtest.PseudoHeader(ip, false, ip[9], len(ip)-20), ip[20:]) != 0 {
		t.Fatal("bad L4 checksum")
	}
}

func data(n int) []byte {
	d := make([]byte, n)
	for i := range d {
		d[i] = byte(i*7 + i>>9)
	}
	return d
}

// gso4 makes a vnet header + super-packet as the kernel writes it.
func gso4(seq uint32, mss int, d []byte) []byte {
	p := tcp4(seq, 0x18, 1, d)
	binary.BigEndian.PutUint16(p[50:], ^offloadtest.Checksum(offloadtest.PseudoHeader(p[14:], false, 6, len(p)-34)))
	vh := make([]byte, offload.HdrLen)
	(&offload.Hdr{Flags: offload.FlagNeedsCsum, GSOType: offload.GSOTCPv4, HdrLen: 54, GSOSize: uint16(mss), CsumStart: 34, CsumOffset: 16}).Encode(vh)
	return append(vh, p...)
}

// Super-packets are cut into frames, over several batches when they do not
// fit; partial checksums are completed; malformed reads are counted.
func TestVnetRead(t *testing.T) {
	p, peer := pair(t, Config{VnetHdr: true})
	d1, d2 := data(30000), data(40000)
	udp := make([]byte, 14+20+8+100)
	copy(udp, []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0, 0x45})
	binary.BigEndian.PutUint16(udp[16:], 128)
	udp[22], udp[23] = 64, 17
	copy(udp[26:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	binary.BigEndian.PutUint16(udp[24:], offloadtest.Checksum(udp[14:34]))
	binary.BigEndian.PutUint16(udp[38:], 108)
	copy(udp[42:], data(100))
	binary.BigEndian.PutUint16(udp[40:], ^offloadtest.Checksum(offloadtest.PseudoHeader(udp[14:], false, 17, 108)))
	vh := make([]byte, offload.HdrLen)
	(&offload.Hdr{Flags: offload.FlagNeedsCsum, CsumStart: 34, CsumOffset: 6}).Encode(vh)
	bad := gso4(0, 500, d1)
	bad[1] = offload.GSOUDP
	for _, m := range [][]byte{gso4(1000, 500, d1), bad, make([]byte, 5), append(vh, udp...), gso4(31000, 1000, d2)} {
		if _, err := unix.Write(peer, m); err != nil {
			t.Fatal(err)
		}
	}
	got := readAll(t, p, 60+1+40)
	var stream []byte
	for i, f := range got {
		if len(f) > 1514 {
			t.Fatalf("frame %d: %d bytes", i, len(f))
		}
		verify4(t, f)
		if i == 60 {
			if f[23] != 17 {
				t.Fatal("the UDP packet is not in its place")
			}
			continue
		}
		if seq := binary.BigEndian.Uint32(f[38:]); int(seq) != 1000+len(stream) {
			t.Fatalf("frame %d: seq %d, want %d", i, seq, 1000+len(stream))
		}
		stream = append(stream, f[54:]...)
	}
	if !bytes.Equal(stream, append(d1, d2...)) {
		t.Fatal("payload differs")
	}
	st := p.Stats()
	if st.GSOReads != 2 || st.BadReads != 2 || st.ReadFrames != 101 {
		t.Fatalf("stats %+v", st)
	}
}

// Consecutive segments go as one super-packet; others alone behind an
// empty vnet header.
func TestVnetWrite(t *testing.T) {
	p, peer := pair(t, Config{VnetHdr: true})
	d := data(20 * 1448)
	b := frames.GetBatch()
	defer b.Release()
	add := func(f []byte) { b.Add(frames.GetCopy(f)) }
	for i := 0; i < 20; i++ {
		fl := byte(0x10)
		if i == 19 {
			fl = 0x18
		}
		add(tcp4(uint32(5000+i*1448), fl, uint16(i), d[i*1448:(i+1)*1448]))
	}
	add(tcp4(1, 0x10, 0, nil)) // an ACK
	add(tcp4(5000+20*1448, 0x10, 20, d[:100]))
	if err := p.WriteBatch(b); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 70000)
	var msgs [][]byte
	for i := 0; i < 3; i++ {
		n, err := unix.Read(peer, buf)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, append([]byte(nil), buf[:n]...))
	}
	var h offload.Hdr
	h.Decode(msgs[0])
	if h.GSOType != offload.GSOTCPv4 || h.GSOSize != 1448 || h.HdrLen != 54 || h.CsumStart != 34 || h.CsumOffset != 16 || h.Flags != offload.FlagNeedsCsum {
		t.Fatalf("vnet header %+v", h)
	}
	sp := msgs[0][offload.HdrLen:]
	if len(sp) != 54+len(d) || !bytes.Equal(sp[54:], d) || binary.BigEndian.Uint32(sp[38:]) != 5000 || sp[47] != 0x18 {
		t.Fatalf("super-packet of %d bytes", len(sp))
	}
	// The partial checksum completes to the checksum of the whole.
	(&h).CsumStart = 34
	if err := offload.CompleteChecksum(&h, sp); err != nil {
		t.Fatal(err)
	}
	verify4(t, sp)
	for _, m := range msgs[1:] {
		if !bytes.Equal(m[:offload.HdrLen], make([]byte, offload.HdrLen)) {
			t.Fatal("a single frame with a non-empty vnet header")
		}
		verify4(t, m[offload.HdrLen:])
	}
	st := p.Stats()
	if st.WriteFrames != 22 || st.GSOWrites != 1 || st.GSOWriteSegs != 20 {
		t.Fatalf("stats %+v", st)
	}
}

// Reading a super-packet and writing the frames allocates nothing.
func TestVnetNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	p, peer := pair(t, Config{VnetHdr: true})
	msg := gso4(0, 1448, data(40*1448))
	b := frames.GetBatch()
	defer b.Release()
	buf := make([]byte, 70000)
	cycle := func() {
		if _, err := unix.Write(peer, msg); err != nil {
			t.Fatal(err)
		}
		if err := p.ReadBatch(b); err != nil || b.N != 40 {
			t.Fatalf("%v, %d frames", err, b.N)
		}
		if err := p.WriteBatch(b); err != nil {
			t.Fatal(err)
		}
		if n, err := unix.Read(peer, buf); err != nil || n != len(msg) {
			t.Fatalf("%v, %d bytes back", err, n)
		}
		b.ReleaseFrames()
	}
	for i := 0; i < 10; i++ {
		cycle()
	}
	if allocs := testing.AllocsPerRun(50, cycle); allocs != 0 {
		t.Fatalf("%.1f allocations per super-packet", allocs)
	}
}
