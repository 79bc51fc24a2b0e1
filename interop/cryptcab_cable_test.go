package interop

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govde/govde/transports/cryptcab/sshtest"
)

// exchange sends frames both ways between a plug on each switch and checks
// they arrive byte for byte; it returns every frame sent.
func ccExchange(t *testing.T, a, b *plug) [][]byte {
	t.Helper()
	var sent [][]byte
	for i, size := range []int{60, 64, 200, 1000, 1514} {
		f := ccFrame(bcast, mac(0xa), size)
		if i > 0 {
			f = ccFrame(mac(0xb), mac(0xa), size)
		}
		a.send(t, f)
		b.expect(t, fmt.Sprintf("b (%d bytes)", size), f)
		g := ccFrame(mac(0xa), mac(0xb), size)
		b.send(t, g)
		a.expect(t, fmt.Sprintf("a (%d bytes)", size), g)
		sent = append(sent, f, g)
	}
	return sent
}

// Two of our switches, started as processes, joined by our vde_cryptcab
// over 127.0.0.1 with a pre-shared key: frames cross both ways byte for
// byte (real vde_plug on one side, ours on the other), and a relay on the
// path sees no plaintext.
func TestCryptcabJoinsTwoSwitches(t *testing.T) {
	vp := real(t, "vde_plug")
	key := ccKeyFile(t)
	dirA, _ := switchProc(t, bin("vde_switch"))
	dirB, _ := switchProc(t, bin("vde_switch"))
	srv, addr := ccServer(t, "-s", dirA, "-P", key)
	rl := newCCRelay(t, addr)
	cli := start(t, ourCryptcab(t), "-c", rl.addr(), "-s", dirB, "-P", key, "-v")
	waitPorts(t, dirA, 1)
	waitPorts(t, dirB, 1)
	a := startPlug(t, vp, dirA)
	b := startPlug(t, bin("vde_plug"), dirB)
	waitPorts(t, dirA, 2)
	waitPorts(t, dirB, 2)
	sent := ccExchange(t, a, b)
	rl.checkNoPlaintext(t, sent)
	if !strings.Contains(srv.stderr.String(), "established") {
		t.Fatalf("server log: %s", srv.stderr)
	}
	// SIGTERM ends both cleanly (exit 0) and frees the switch ports.
	cli.Stop()
	srv.Stop()
	if cli.cmd.ProcessState.ExitCode() != 0 || srv.cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("exit codes: client %d (%s), server %d (%s)", cli.cmd.ProcessState.ExitCode(), cli.stderr,
			srv.cmd.ProcessState.ExitCode(), srv.stderr)
	}
}

// The same over SSH: the client logs in to an in-test SSH server with the
// keys and known_hosts of its HOME (a temp dir), takes a ticket from the
// server's socket and joins. A client whose key the SSH server refuses,
// and a client with the wrong pre-shared key, exit 1 with a clear error
// and get no switch port.
func TestCryptcabOverSSH(t *testing.T) {
	dir := t.TempDir()
	sshd, err := sshtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer sshd.Close()
	home := filepath.Join(dir, "home")
	if _, err := sshd.HomeDir(home); err != nil {
		t.Fatal(err)
	}
	stranger := filepath.Join(dir, "stranger")
	if _, err := sshtest.NewClientKey(stranger); err != nil {
		t.Fatal(err)
	}
	env := []string{"HOME=" + home, "SSH_AUTH_SOCK="}
	sock := filepath.Join(dir, "tickets.sock")
	dirA, _ := switchProc(t, bin("vde_switch"))
	dirB, _ := switchProc(t, bin("vde_switch"))
	srv, addr := ccServer(t, "-s", dirA, "--ssh-socket", sock)
	sshPort := fmt.Sprint(sshd.Port())

	bad := ccProc(t, env, ourCryptcab(t), "-c", "tester@"+addr, "-s", dirB, "--ssh-port", sshPort, "--ssh-socket", sock, "-i", stranger)
	if code := bad.Wait(t, 10*time.Second); code != 1 ||
		!strings.Contains(bad.stderr.String(), "vde_cryptcab: ssh tester@127.0.0.1:"+sshPort+": authentication: the server refused every key tried") {
		t.Fatalf("refused ssh key: exit %d, stderr %q", code, bad.stderr)
	}
	t.Logf("refused ssh login: %s", strings.TrimSpace(bad.stderr.String()))

	cli := ccProc(t, env, ourCryptcab(t), "-c", "tester@"+addr, "-s", dirB, "--ssh-port", sshPort, "--ssh-socket", sock, "-v")
	waitPorts(t, dirA, 1)
	waitPorts(t, dirB, 1)
	a := startPlug(t, bin("vde_plug"), dirA)
	b := startPlug(t, bin("vde_plug"), dirB)
	waitPorts(t, dirA, 2)
	waitPorts(t, dirB, 2)
	ccExchange(t, a, b)
	if sshd.Logins.Load() != 1 || sshd.Refused.Load() == 0 {
		t.Fatalf("ssh logins %d, refused %d", sshd.Logins.Load(), sshd.Refused.Load())
	}
	if !strings.Contains(srv.stderr.String(), "ssh user") {
		t.Fatalf("server log does not name the ssh user: %s", srv.stderr)
	}

	// A pre-shared-key client on an SSH server, and a wrong key on a PSK
	// server: refused with the reason.
	key, other := ccKeyFile(t), ccKeyFile(t)
	dirC, _ := switchProc(t, bin("vde_switch"))
	_, pskAddr := ccServer(t, "-s", dirC, "-P", key)
	for _, tc := range []struct{ server, key, want string }{
		{addr, key, "the server does not accept pre-shared keys"},
		{pskAddr, other, "authentication failed (wrong pre-shared key?)"},
	} {
		p := start(t, ourCryptcab(t), "-c", tc.server, "-s", dirB, "-P", tc.key)
		if code := p.Wait(t, 10*time.Second); code != 1 || !strings.Contains(p.stderr.String(), tc.want) {
			t.Fatalf("exit %d, stderr %q, want %q", code, p.stderr, tc.want)
		}
		t.Logf("refused: %s", strings.TrimSpace(p.stderr.String()))
	}
	ents, _ := os.ReadDir(dirC)
	for _, e := range ents {
		if len(e.Name()) > 4 && e.Name()[3] == '.' {
			t.Fatalf("a refused client got a port on the switch: %s", e.Name())
		}
	}
	cli.Stop()
}

// Flags: -x is refused (a cryptcab always encrypts), -k needs client mode,
// a bad key file or VNL is one clear line and exit 1.
func TestCryptcabFlags(t *testing.T) {
	cc := ourCryptcab(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-x"}, "a cryptcab always encrypts"},
		{[]string{"-k"}, "keepalive option is valid in client mode only."},
		{[]string{"-h"}, "Usage: vde_cryptcab [-s socketname] [-c [remoteuser@]remotehost[:remoteport]]"},
		{[]string{"extra"}, "Usage:"},
		{[]string{"-P", "/nonexistent/key"}, "vde_cryptcab: pre-shared key: open /nonexistent/key: no such file or directory"},
		{[]string{"-c", "127.0.0.1:1", "-P", "/etc/hostname"}, "pre-shared key too short"},
		{[]string{"-c", "127.0.0.1:1", "-s", "nosuch://x", "-P", ccKeyFile(t)}, "vde_open nosuch://x: Protocol not supported"},
	} {
		p := start(t, append([]string{cc}, tc.args...)...)
		if code := p.Wait(t, 5*time.Second); code != 1 || !strings.Contains(p.stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, p.stderr, tc.want)
		}
	}
}

// -d detaches, --pidfile names the daemon, which serves clients and cleans
// up on SIGTERM.
func TestCryptcabDaemon(t *testing.T) {
	tmp := t.TempDir()
	key := ccKeyFile(t)
	dirA, _ := switchProc(t, bin("vde_switch"))
	dirB, _ := switchProc(t, bin("vde_switch"))
	// A free UDP port on 127.0.0.1 (the daemon cannot report one).
	u, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	addr := u.LocalAddr().String()
	u.Close()
	pidf := filepath.Join(tmp, "cc.pid")
	cmd := exec.Command(ourCryptcab(t), "-d", "--pidfile", pidf, "-p", addr, "-s", dirA, "-P", key)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("vde_cryptcab -d: %v %s", err, out)
	}
	pid := readPid(t, pidf)
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGTERM) })
	start(t, ourCryptcab(t), "-c", addr, "-s", dirB, "-P", key)
	waitPorts(t, dirA, 1)
	waitPorts(t, dirB, 1)
	a, b := startPlug(t, bin("vde_plug"), dirA), startPlug(t, bin("vde_plug"), dirB)
	waitPorts(t, dirA, 2)
	waitPorts(t, dirB, 2)
	ccExchange(t, a, b)
	syscall.Kill(pid, syscall.SIGTERM)
	waitFor(t, func() bool { _, err := os.Stat(pidf); return os.IsNotExist(err) }, "pid file removed")
}
