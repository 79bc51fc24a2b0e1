package slirp

import (
	"bufio"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"

	"github.com/govde/govde/console"
)

// mgmtClient is a connection to a management socket.
type mgmtClient struct {
	c net.Conn
	r *bufio.Reader
}

// cmd sends line and returns the output up to the next prompt.
func (m *mgmtClient) cmd(t *testing.T, line string) string {
	t.Helper()
	m.c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(m.c, line+"\n")
	return m.untilPrompt(t)
}

func (m *mgmtClient) untilPrompt(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for !strings.HasSuffix(b.String(), console.Prompt) {
		c, err := m.r.ReadByte()
		if err != nil {
			t.Fatalf("read: %v after %q", err, b.String())
		}
		b.WriteByte(c)
	}
	return strings.TrimSuffix(b.String(), console.Prompt)
}

// The console on a management socket: add a TCP forward at run time, use
// it, list it and the flows, remove it; bad arguments give errno lines.
func TestConsoleForwardsAtRunTime(t *testing.T) {
	e := newSlirp(t, Config{DNSUpstream: "127.0.0.1:1"})
	g := newGuest(t, e, guestIP, gw)
	guestServeTCP(t, g, addr4(guestIP, 8080), ipv4.ProtocolNumber, func(c net.Conn) { io.Copy(c, c); c.Close() })
	shut := make(chan struct{}, 1)
	path := filepath.Join(t.TempDir(), "mgmt")
	srv, err := console.Listen(path, 0o600, -1, e.Console(), nil, func() { shut <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m := &mgmtClient{c: c, r: bufio.NewReader(c)}
	if banner := m.untilPrompt(t); !strings.HasPrefix(banner, "VDE") {
		t.Fatalf("banner %q", banner)
	}
	out := m.cmd(t, "help")
	for _, want := range []string{"fwd/add", "fwd/del", "fwd/print", "flows/print", "flows/limits", "flows/setmax", "showinfo", "shutdown"} {
		if !strings.Contains(out, want) {
			t.Fatalf("help lacks %s:\n%s", want, out)
		}
	}
	out = m.cmd(t, "fwd/add tcp 127.0.0.1:0:10.0.2.15:8080")
	re := regexp.MustCompile(`tcp 127\.0\.0\.1:(\d+) -> 10\.0\.2\.15:8080\n\.\n1000 Success`)
	sm := re.FindStringSubmatch(out)
	if sm == nil {
		t.Fatalf("fwd/add: %q", out)
	}
	hc, err := net.DialTimeout("tcp4", "127.0.0.1:"+sm[1], 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	hc.SetDeadline(deadline())
	hc.Write([]byte("through the console's forward"))
	got := make([]byte, len("through the console's forward"))
	if _, err := io.ReadFull(hc, got); err != nil || string(got) != "through the console's forward" {
		t.Fatalf("echo %q %v", got, err)
	}
	if out := m.cmd(t, "fwd/print"); !strings.Contains(out, "tcp 127.0.0.1:"+sm[1]+" -> 10.0.2.15:8080") {
		t.Fatalf("fwd/print: %q", out)
	}
	if out := m.cmd(t, "flows/print"); !strings.Contains(out, "tcp-fwd") || !strings.Contains(out, "10.0.2.15:8080") {
		t.Fatalf("flows/print: %q", out)
	}
	if out := m.cmd(t, "flows/limits"); !strings.Contains(out, "flows 1 max 1024 refused 0") || !strings.Contains(out, "tcp-fwd 1") {
		t.Fatalf("flows/limits: %q", out)
	}
	hc.Close()
	for _, tc := range []struct{ line, want string }{
		{"fwd/add tcp 127.0.0.1:0:10.0.2.15:8080", "1000 Success"}, // another port 0: a new listener
		{"fwd/add sctp 1:10.0.2.15:1", "1022 Invalid argument"},
		{"fwd/add udp nonsense", "1022 Invalid argument"},
		{"fwd/add tcp 127.0.0.1:" + sm[1] + ":10.0.2.15:9", "1098 Address already in use"},
		{"fwd/del tcp 127.0.0.1:1", "1002 No such file or directory"},
		{"fwd/del tcp 127.0.0.1:" + sm[1], "1000 Success"},
		{"flows/setmax 0", "1022 Invalid argument"},
		{"flows/setmax 7", "1000 Success"},
		{"nosuchcommand", "1038 Function not implemented"},
	} {
		if out := m.cmd(t, tc.line); !strings.Contains(out, tc.want) {
			t.Fatalf("%s: %q, want %q", tc.line, out, tc.want)
		}
	}
	if _, err := net.DialTimeout("tcp4", "127.0.0.1:"+sm[1], time.Second); err == nil {
		t.Fatal("deleted forward still listens")
	}
	if out := m.cmd(t, "showinfo"); !strings.Contains(out, "virtual host 10.0.2.2/24 fd00::2/64 (router fe80::2)") || !strings.Contains(out, "max 7") {
		t.Fatalf("showinfo: %q", out)
	}
	if fs := e.Forwards(); len(fs) != 1 || fs[0].Bound == "127.0.0.1:"+sm[1] {
		t.Fatalf("forwards left %v, want the second one", fs)
	}
	io.WriteString(c, "shutdown\n")
	select {
	case <-shut:
	case <-time.After(5 * time.Second):
		t.Fatal("shutdown did not call back")
	}
}
