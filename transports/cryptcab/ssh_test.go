package cryptcab

import (
	"context"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govde/govde/transports/cryptcab/sshtest"
)

// sshSetup starts an in-test SSH server and a cryptcab server in SSH mode
// whose ticket socket lives in a temp dir, and writes a client key and a
// known_hosts file.
func sshSetup(t *testing.T) (sshd *sshtest.Server, srv *Server, auth *SSHAuth) {
	t.Helper()
	dir := t.TempDir()
	key := filepath.Join(dir, "id_ed25519")
	pub, err := sshtest.NewClientKey(key)
	if err != nil {
		t.Fatal(err)
	}
	sshd, err = sshtest.Start(pub)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sshd.Close() })
	kh := filepath.Join(dir, "known_hosts")
	if err := sshd.WriteKnownHosts(kh); err != nil {
		t.Fatal(err)
	}
	srv = startServer(t, ServerConfig{TicketSocket: filepath.Join(dir, "tickets.sock")})
	auth = &SSHAuth{User: "tester", Host: "127.0.0.1", Port: sshd.Port(), Identities: []string{key},
		KnownHosts: []string{kh}, Socket: srv.TicketSocket(), NoAgent: true}
	return sshd, srv, auth
}

// A session authenticated over SSH: one login, one ticket, frames both
// ways; the session is labelled with the user the ticket went to.
func TestSSHSession(t *testing.T) {
	checkGoroutines(t)
	sshd, srv, auth := sshSetup(t)
	c := dial(t, ClientConfig{Server: srv.Addr().String(), Auth: auth})
	s := accept(t, srv)
	up, down := readAll(s), readAll(c)
	fu, fd := frame(1514, "over ssh up"), frame(1514, "over ssh down")
	send(t, c, fu)
	send(t, s, fd)
	up.expect(t, "server", fu)
	down.expect(t, "client", fd)
	me, _ := user.Current()
	if s.User() != me.Username || !strings.Contains(s.Describe(), "ssh user "+me.Username) {
		t.Fatalf("session user %q, describe %q", s.User(), s.Describe())
	}
	if sshd.Logins.Load() != 1 || sshd.Forwards.Load() != 1 {
		t.Fatalf("ssh logins %d, forwards %d", sshd.Logins.Load(), sshd.Forwards.Load())
	}
	// The ticket is gone once used.
	srv.e.mu.Lock()
	left := len(srv.e.srv.tickets)
	srv.e.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d tickets left", left)
	}
}

// With no identities and no known_hosts given, the client uses the user's
// ~/.ssh (here HOME points at a temp dir made for the test server).
func TestSSHUsesHomeByDefault(t *testing.T) {
	sshd, srv, _ := sshSetup(t)
	home := t.TempDir()
	if _, err := sshd.HomeDir(home); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	t.Setenv("SSH_AUTH_SOCK", "")
	auth := &SSHAuth{Host: "127.0.0.1", Port: sshd.Port(), Socket: srv.TicketSocket()}
	c := dial(t, ClientConfig{Server: srv.Addr().String(), Auth: auth})
	s := accept(t, srv)
	r := readAll(s)
	f := frame(64, "from home keys")
	send(t, c, f)
	r.expect(t, "server", f)
}

// A failed SSH authentication, an unknown host and a changed host key each
// give a clear error, and the server has no session and issued no ticket.
func TestSSHFailuresGiveClearErrors(t *testing.T) {
	checkGoroutines(t)
	sshd, srv, good := sshSetup(t)
	dir := t.TempDir()
	stranger := filepath.Join(dir, "stranger")
	if _, err := sshtest.NewClientKey(stranger); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty_known_hosts")
	os.WriteFile(empty, nil, 0644)
	other, err := sshtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	wrongKH := filepath.Join(dir, "wrong_known_hosts")
	// The other server's key, written for our server's address.
	line := strings.Replace(mustRead(t, other, dir), other.Addr[len("127.0.0.1:"):], sshd.Addr[len("127.0.0.1:"):], 1)
	os.WriteFile(wrongKH, []byte(line), 0644)

	for _, tc := range []struct {
		name   string
		change func(a *SSHAuth)
		step   string
		text   string
	}{
		{"key not authorized", func(a *SSHAuth) { a.Identities = []string{stranger} }, "authentication", "refused every key tried"},
		{"no key at all", func(a *SSHAuth) { a.Identities = []string{} }, "authentication", "no usable key"},
		{"unknown host", func(a *SSHAuth) { a.KnownHosts = []string{empty} }, "host key", "is not in known_hosts"},
		{"changed host key", func(a *SSHAuth) { a.KnownHosts = []string{wrongKH} }, "host key", "HOST KEY MISMATCH"},
		{"no ticket socket", func(a *SSHAuth) { a.Socket = filepath.Join(dir, "nothing.sock") }, "ticket", "cannot reach"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := *good
			tc.change(&a)
			_, err := dialErr(ClientConfig{Server: srv.Addr().String(), Auth: &a})
			var se *SSHError
			if !errors.As(err, &se) || se.Step != tc.step || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("got %v, want step %q with %q", err, tc.step, tc.text)
			}
			t.Log(err)
		})
	}
	if sshd.Refused.Load() == 0 {
		t.Fatal("the ssh server saw no refused login")
	}
	st := srv.Stats()
	srv.e.mu.Lock()
	tickets := len(srv.e.srv.tickets)
	srv.e.mu.Unlock()
	if st.Sessions != 0 || st.Handshakes != 0 || tickets != 0 {
		t.Fatalf("after failures: %d sessions, %d handshakes, %d tickets", st.Sessions, st.Handshakes, tickets)
	}
}

func mustRead(t *testing.T, s *sshtest.Server, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "kh-tmp")
	if err := s.WriteKnownHosts(p); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A ticket opens one session: used again (a replayed handshake with a
// fresh key exchange) it is refused; a forged ticket id is refused too.
func TestTicketSingleUse(t *testing.T) {
	_, srv, auth := sshSetup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cred, err := auth.Credential(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dial(t, ClientConfig{Server: srv.Addr().String(), Auth: fixedCred{cred}})
	accept(t, srv)
	_, err = dialErr(ClientConfig{Server: srv.Addr().String(), Auth: fixedCred{cred}})
	var de *DenyError
	if !errors.As(err, &de) || de.Reason != denyText(denyUnknownAuth, false) {
		t.Fatalf("second use of a ticket: %v", err)
	}
	cred.ID++
	_, err = dialErr(ClientConfig{Server: srv.Addr().String(), Auth: fixedCred{cred}})
	if !errors.As(err, &de) {
		t.Fatalf("forged ticket: %v", err)
	}
	if st := srv.Stats(); st.Sessions != 1 || st.HandshakeFailures != 2 {
		t.Fatalf("server stats %+v", st)
	}
}
