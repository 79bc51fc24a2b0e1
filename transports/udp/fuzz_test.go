package udp

import (
	"strings"
	"testing"
)

// ParseSpec never panics, and what it accepts it splits at the first "->"
// and each side's last ':'.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"5000->127.0.0.1:5001", "::1:1->::1:2", "a", "->", ":->:", "1->a->b:2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		s, err := ParseSpec(arg)
		if err != nil {
			return
		}
		src, dst, _ := strings.Cut(arg, "->")
		if s.DstAddr+":"+s.DstPort != dst || s.DstAddr == "" || s.DstPort == "" || s.SrcPort == "" ||
			strings.Contains(s.DstPort, ":") || strings.Contains(s.SrcPort, ":") {
			t.Fatalf("%q: %+v", arg, s)
		}
		if want := s.SrcPort; s.SrcAddr != "" || strings.Contains(src, ":") {
			want = s.SrcAddr + ":" + s.SrcPort
			if want != src {
				t.Fatalf("%q: source %+v", arg, s)
			}
		} else if want != src {
			t.Fatalf("%q: source port %q", arg, s.SrcPort)
		}
	})
}
