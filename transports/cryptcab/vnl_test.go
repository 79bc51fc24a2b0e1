package cryptcab

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/govde/govde/transports/vnl"
)

// cryptcab:// opens a client endpoint, with a pre-shared key file or over
// SSH, options in brackets (file names quoted).
func TestVNLOpen(t *testing.T) {
	checkGoroutines(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	secret := make([]byte, 32)
	rand.Read(secret)
	os.WriteFile(key, secret, 0600)
	psk, _ := NewPSK(secret)
	srv := startServer(t, ServerConfig{PSK: &psk})
	ep, err := Open(fmt.Sprintf("127.0.0.1:%d[psk='%s'/keepalive=0.5/timeout=30]", srv.Addr().Port(), key), vnl.Args{})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	c := ep.(*Client)
	if c.e.timing.Keepalive.Seconds() != 0.5 || c.e.timing.SessionTimeout.Seconds() != 30 {
		t.Fatalf("timing %+v", c.e.timing)
	}
	if ep.Describe() != fmt.Sprintf("cryptcab://127.0.0.1:%d", srv.Addr().Port()) {
		t.Fatalf("describe %q", ep.Describe())
	}
	s := accept(t, srv)
	r := readAll(s)
	f := frame(100, "through the vnl")
	send(t, ep, f)
	r.expect(t, "server", f)

	sshd, sshSrv, auth := sshSetup(t)
	arg := fmt.Sprintf("someone@127.0.0.1:%d[sshport=%d/identity='%s'/knownhosts='%s'/socket='%s'/lport=127.0.0.1:0]",
		sshSrv.Addr().Port(), sshd.Port(), auth.Identities[0], auth.KnownHosts[0], sshSrv.TicketSocket())
	t.Setenv("SSH_AUTH_SOCK", "")
	ep2, err := Open(arg, vnl.Args{})
	if err != nil {
		t.Fatal(err)
	}
	defer ep2.Close()
	s2 := accept(t, sshSrv)
	r2 := readAll(s2)
	send(t, ep2, f)
	r2.expect(t, "ssh server", f)

	for arg, want := range map[string]string{
		"127.0.0.1:1[nosuch=1]":                      "unknwown key",
		"127.0.0.1:1[psk=%2Fnonexistent]":            "no such file",
		"127.0.0.1:70000":                            "bad port",
		"127.0.0.1:1[keepalive=x/psk='" + key + "']": "bad keepalive",
	} {
		if _, err := Open(arg, vnl.Args{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", arg, err, want)
		}
	}
}
