package slirp

import (
	"encoding/binary"
	"net"
	"testing"
)

// The router's TCP advertises the MSS of a 1500-byte MTU (1460 over IPv4):
// the link under the stack carries whole Ethernet frames, so its size must
// include the 14-byte header the Ethernet layer takes off.
func TestRouterMSSFullMTU(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	e := newSlirp(t, Config{})
	// the router learns the guest's MAC from its ARP request
	send(t, e, arpRequest(gw))
	recv(t, e, isARPReply)
	syn := make([]byte, 24) // TCP header + MSS option
	binary.BigEndian.PutUint16(syn[0:], 40000)
	binary.BigEndian.PutUint16(syn[2:], port)
	binary.BigEndian.PutUint32(syn[4:], 1000)
	syn[12] = 6 << 4 // data offset: 24 bytes
	syn[13] = 0x02   // SYN
	binary.BigEndian.PutUint16(syn[14:], 65535)
	syn[20], syn[21] = 2, 4
	binary.BigEndian.PutUint16(syn[22:], 1460)
	pkt := guestV4Packet(guestIP, gw, 6, syn, 16)
	// TCP's checksum covers a pseudo-header too
	tcpSeg := pkt[14+20:]
	tcpSeg[16], tcpSeg[17] = 0, 0
	ph := make([]byte, 12)
	copy(ph[0:8], pkt[14+12:14+20])
	ph[9] = 6
	binary.BigEndian.PutUint16(ph[10:], uint16(len(tcpSeg)))
	binary.BigEndian.PutUint16(tcpSeg[16:], checksumFold(checksumAdd(checksumAdd(0, ph), tcpSeg)))
	send(t, e, pkt)
	p := recv(t, e, func(p []byte) bool { return isV4From(gw, 6)(p) && p[14+20+13]&0x12 == 0x12 })
	tcp := p[14+20:]
	opts := tcp[20 : int(tcp[12]>>4)*4]
	mss := -1
	for i := 0; i < len(opts) && opts[i] != 0; {
		if opts[i] == 1 {
			i++
			continue
		}
		if i+1 >= len(opts) || opts[i+1] < 2 {
			break
		}
		if opts[i] == 2 && opts[i+1] == 4 && i+4 <= len(opts) {
			mss = int(binary.BigEndian.Uint16(opts[i+2:]))
		}
		i += int(opts[i+1])
	}
	if mss != 1460 {
		t.Fatalf("SYN-ACK MSS %d, want 1460", mss)
	}
}
