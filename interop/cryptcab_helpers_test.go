package interop

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// Helpers of the cryptcab tests (cryptcab_*_test.go).

var ccLinkOnce sync.Once

// ourCryptcab returns our vde_cryptcab (a classic-name link to the vde
// binary built by TestMain).
func ourCryptcab(t *testing.T) string {
	t.Helper()
	p := bin("vde_cryptcab")
	ccLinkOnce.Do(func() { os.Symlink("vde", p) })
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// ccKeyFile writes a new random pre-shared key file.
func ccKeyFile(t *testing.T) string {
	t.Helper()
	k := make([]byte, 32)
	rand.Read(k)
	p := filepath.Join(t.TempDir(), "cryptcab.key")
	if err := os.WriteFile(p, k, 0600); err != nil {
		t.Fatal(err)
	}
	return p
}

var ccListening = regexp.MustCompile(`listening on udp (\S+)`)

// ccServer starts `vde_cryptcab -p 127.0.0.1:0 -v` with args and returns
// it and the UDP address it reports.
func ccServer(t *testing.T, args ...string) (*proc, string) {
	t.Helper()
	p := start(t, append([]string{ourCryptcab(t), "-p", "127.0.0.1:0", "-v"}, args...)...)
	var addr string
	waitFor(t, func() bool {
		m := ccListening.FindStringSubmatch(p.stderr.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	}, "cryptcab server address")
	return p, addr
}

// ccProc starts a process with extra environment variables.
func ccProc(t *testing.T, env []string, argv ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(argv[0], argv[1:]...), stderr: &syncBuf{}, done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", argv, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(p.Stop)
	return p
}

// ccRelay is a UDP relay between a cryptcab client and its server that
// records every datagram both ways: the bytes on the wire.
type ccRelay struct {
	front, back *net.UDPConn
	mu          sync.Mutex
	client      *net.UDPAddr
	wire        [][]byte
	wg          sync.WaitGroup
}

func newCCRelay(t *testing.T, server string) *ccRelay {
	t.Helper()
	sa, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		t.Fatal(err)
	}
	front, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	back, err := net.DialUDP("udp4", nil, sa)
	if err != nil {
		t.Fatal(err)
	}
	r := &ccRelay{front: front, back: back}
	r.wg.Add(2)
	go func() {
		defer r.wg.Done()
		buf := make([]byte, 70000)
		for {
			n, from, err := front.ReadFromUDP(buf)
			if err != nil {
				return
			}
			r.mu.Lock()
			r.client = from
			r.wire = append(r.wire, bytes.Clone(buf[:n]))
			r.mu.Unlock()
			back.Write(buf[:n])
		}
	}()
	go func() {
		defer r.wg.Done()
		buf := make([]byte, 70000)
		for {
			n, err := back.Read(buf)
			if err != nil {
				return
			}
			r.mu.Lock()
			r.wire = append(r.wire, bytes.Clone(buf[:n]))
			to := r.client
			r.mu.Unlock()
			front.WriteToUDP(buf[:n], to)
		}
	}()
	t.Cleanup(func() {
		front.Close()
		back.Close()
		r.wg.Wait()
	})
	return r
}

func (r *ccRelay) addr() string { return r.front.LocalAddr().String() }

// checkNoPlaintext fails if any recorded datagram holds one of the frames,
// or 16 bytes of a frame's payload.
func (r *ccRelay) checkNoPlaintext(t *testing.T, sent [][]byte) {
	t.Helper()
	r.mu.Lock()
	wire := append([][]byte(nil), r.wire...)
	r.mu.Unlock()
	if len(wire) == 0 {
		t.Fatal("nothing recorded on the wire")
	}
	for _, p := range wire {
		for _, f := range sent {
			if bytes.Contains(p, f) {
				t.Fatalf("a datagram on the wire holds a plaintext frame (%d bytes)", len(f))
			}
			for off := 14; off+16 <= len(f); off += 16 {
				if bytes.Contains(p, f[off:off+16]) {
					t.Fatalf("a datagram on the wire holds 16 bytes of a frame's payload")
				}
			}
		}
	}
	t.Logf("%d datagrams on the wire, none holds plaintext", len(wire))
}

// ccFrame is an Ethernet frame with a random payload of size bytes in all.
func ccFrame(dst, src []byte, size int) []byte {
	f := make([]byte, size)
	copy(f, dst)
	copy(f[6:], src)
	f[12], f[13] = 0x08, 0x00
	rand.Read(f[14:])
	return f
}

// ccNeedNetns skips (or fails with CI=true) unless the test is root with
// iproute2 and the other tools named.
func ccNeedNetns(t *testing.T, tools ...string) {
	t.Helper()
	missing := []string{}
	for _, b := range append([]string{"ip"}, tools...) {
		if _, err := exec.LookPath(b); err != nil {
			missing = append(missing, b)
		}
	}
	if os.Geteuid() == 0 && len(missing) == 0 {
		return
	}
	why := fmt.Sprintf("this test needs root and %s (missing: %v)", strings.Join(append([]string{"ip"}, tools...), ", "), missing)
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// ccNetns makes a network namespace (lo up), deleted at cleanup.
func ccNetns(t *testing.T, name string) {
	t.Helper()
	ccIP(t, "netns", "add", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	ccIP(t, "-n", name, "link", "set", "lo", "up")
}

func ccIP(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}
