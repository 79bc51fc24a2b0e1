package interop

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Helpers of the cable, dpipe-chain and wirefilter tests (cables_*_test.go).

var wfLinkOnce sync.Once

// ourWirefilter returns our wirefilter (a classic-name link to the vde
// binary built by TestMain).
func ourWirefilter(t *testing.T) string {
	t.Helper()
	p := bin("wirefilter")
	wfLinkOnce.Do(func() { os.Symlink("vde", p) })
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// wfClient is a client of a wirefilter management socket: one command per
// write, then read up to the prompt.
type wfClient struct {
	c net.Conn
	r *bufio.Reader
}

const wfPrompt = "\nVDEwf$ "

// dialWF connects to a wirefilter management socket (waiting for it to
// appear) and returns the client and the banner.
func dialWF(t *testing.T, path string) (*wfClient, string) {
	t.Helper()
	waitFor(t, func() bool { _, err := os.Stat(path); return err == nil }, "wirefilter mgmt socket "+path)
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	w := &wfClient{c: c, r: bufio.NewReader(c)}
	return w, w.until(t, wfPrompt)
}

// until reads up to and including end (or EOF). A "0000 DATA END WITH '.'"
// line opens a data block that a "." line closes; blocks nest (load runs
// commands that print blocks) and "load" echoes each line behind a copy of
// the prompt, so only a prompt outside every block ends the output.
func (w *wfClient) until(t *testing.T, end string) string {
	t.Helper()
	w.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var out bytes.Buffer
	depth, lineStart := 0, 0
	for !bytes.HasSuffix(out.Bytes(), []byte(end)) || (end == wfPrompt && depth > 0) {
		b, err := w.r.ReadByte()
		if err != nil {
			if err == io.EOF {
				break
			}
			t.Fatalf("wirefilter console: %v after %q", err, out.String())
		}
		out.WriteByte(b)
		if b == '\n' {
			switch string(out.Bytes()[lineStart : out.Len()-1]) {
			case "0000 DATA END WITH '.'":
				depth++
			case ".":
				depth--
			}
			lineStart = out.Len()
		}
	}
	return out.String()
}

func (w *wfClient) cmd(t *testing.T, line string) string {
	t.Helper()
	if _, err := w.c.Write([]byte(line)); err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(line, "logout") {
		return w.until(t, "\n")
	}
	return w.until(t, wfPrompt)
}

// must runs commands that must succeed.
func (w *wfClient) must(t *testing.T, cmds ...string) {
	t.Helper()
	for _, c := range cmds {
		if out := w.cmd(t, c); !strings.HasPrefix(out, "1000 Success") {
			t.Fatalf("%q: %q", c, out)
		}
	}
}

// cabFrame returns a broadcast frame of length n carrying seq.
func cabFrame(src byte, seq uint32, n int) []byte {
	f := eth(bcast, mac(src), "")
	f = append(f, make([]byte, n-len(f))...)
	binary.BigEndian.PutUint32(f[14:], seq)
	copy(f[18:], "govde-cable-test")
	return f
}

// burst sends count frames of length n from p, paced so that no unix
// datagram queue on the way overflows.
func cabBurst(t *testing.T, p *plug, src byte, count, n int) {
	t.Helper()
	for i := 0; i < count; i++ {
		p.send(t, cabFrame(src, uint32(i), n))
		time.Sleep(2 * time.Millisecond)
	}
}

// collect returns the frames p receives until nothing arrives for quiet.
func cabCollect(p *plug, quiet time.Duration) [][]byte {
	var out [][]byte
	for {
		f := p.recv(quiet)
		if f == nil {
			return out
		}
		out = append(out, f)
	}
}

// cabStreamProc is a process with its stdin and stdout on pipes speaking the
// 2-byte length framing (a monodirectional wirefilter, a plug).
type cabStreamProc struct {
	*plug
}

// cabStartStream starts argv with pipes on stdin/stdout and an environment
// without dpipe's variables.
func cabStartStream(t *testing.T, argv ...string) *cabStreamProc {
	t.Helper()
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "ALTERNATE_") {
			env = append(env, e)
		}
	}
	p := cabStartPlugEnv(t, env, argv...)
	return &cabStreamProc{p}
}

// cabStartPlugEnv is startPlug with an explicit environment.
func cabStartPlugEnv(t *testing.T, env []string, argv ...string) *plug {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	return startPlugCmd(t, cmd, false, 65536)
}

// cabSock returns a fresh socket path in a private directory.
func cabSock(t *testing.T, name string) string {
	return filepath.Join(t.TempDir(), name)
}
