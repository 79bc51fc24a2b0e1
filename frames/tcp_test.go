package frames

import "testing"

// tcpFrame builds an Ethernet frame with a TCP segment (IPv4 or IPv6,
// optionally tagged) with flags and payload bytes.
func tcpFrame(v6, tagged bool, flags byte, payload int) []byte {
	p := make([]byte, 12)
	if tagged {
		p = append(p, 0x81, 0x00, 0x00, 0x0a)
	}
	tcp := make([]byte, 20+payload)
	tcp[12] = 5 << 4
	tcp[13] = flags
	if v6 {
		ip := make([]byte, 40)
		ip[0] = 0x60
		ip[4], ip[5] = byte(len(tcp)>>8), byte(len(tcp))
		ip[6] = 6
		p = append(append(append(p, 0x86, 0xdd), ip...), tcp...)
	} else {
		ip := make([]byte, 20)
		ip[0] = 0x45
		n := 20 + len(tcp)
		ip[2], ip[3] = byte(n>>8), byte(n)
		ip[9] = 6
		p = append(append(append(p, 0x08, 0x00), ip...), tcp...)
	}
	return p
}

func TestTCPContinues(t *testing.T) {
	for _, tt := range []struct {
		name string
		p    []byte
		want bool
	}{
		{"v4 ACK with payload", tcpFrame(false, false, 0x10, 100), true},
		{"v6 ACK with payload", tcpFrame(true, false, 0x10, 100), true},
		{"tagged v4", tcpFrame(false, true, 0x10, 100), true},
		{"PSH ends the burst", tcpFrame(false, false, 0x18, 100), false},
		{"pure ACK", tcpFrame(false, false, 0x10, 0), false},
		{"SYN", tcpFrame(false, false, 0x02, 0), false},
		{"FIN", tcpFrame(true, false, 0x11, 10), false},
		{"truncated", tcpFrame(false, false, 0x10, 100)[:40], false},
		{"UDP", func() []byte { p := tcpFrame(false, false, 0x10, 100); p[14+9] = 17; return p }(), false},
		{"ARP", append([]byte{12: 0x08, 13: 0x06}, make([]byte, 60)...), false},
		{"short", []byte{1, 2, 3}, false},
	} {
		if got := TCPContinues(tt.p); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
