package cryptcab

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// DefaultSSHTimeout bounds an SSH login made for a ticket.
const DefaultSSHTimeout = 15 * time.Second

// SSHAuth authenticates sessions the way vde_cryptcab did with scp, but
// without copying any key file: for each new session it logs in over SSH
// (golang.org/x/crypto/ssh, the user's keys and known_hosts), asks the
// server's ticket socket for a one-time ticket through the SSH connection
// (a direct-streamlocal channel, what `ssh -L` to a unix socket uses:
// OpenSSH allows it by default), and logs out. The ticket authenticates
// one X25519 handshake over UDP.
//
// The zero values select the user's usual setup, so tests and unusual
// set-ups override only what they must.
type SSHAuth struct {
	// User is the login name ("": $USER, else the current user).
	User string
	// Host is the SSH server, normally the cryptcab server's host.
	Host string
	// Port is the SSH port (0: 22).
	Port int
	// Identities are private key files. nil means ~/.ssh/id_ed25519,
	// id_ecdsa and id_rsa, those that exist; keys held by the agent at
	// $SSH_AUTH_SOCK are tried first either way.
	Identities []string
	// KnownHosts are known_hosts files. nil means ~/.ssh/known_hosts and
	// /etc/ssh/ssh_known_hosts, those that exist. A host that is not in
	// them, or whose key differs, is refused.
	KnownHosts []string
	// Socket is the server's ticket socket ("": DefaultTicketSocket(UDPPort)).
	Socket string
	// UDPPort is the cryptcab server's UDP port, used for the default Socket.
	UDPPort int
	// Timeout bounds the login and the ticket exchange (0: DefaultSSHTimeout).
	Timeout time.Duration
	// NoAgent ignores $SSH_AUTH_SOCK.
	NoAgent bool
}

// SSHError is an SSH failure of SSHAuth: what failed and why.
type SSHError struct {
	Target string // user@host:port
	Step   string // "host key", "authentication", "connect", "ticket"
	Err    error
}

func (e *SSHError) Error() string {
	return fmt.Sprintf("cryptcab: ssh %s: %s: %v", e.Target, e.Step, e.Err)
}

func (e *SSHError) Unwrap() error { return e.Err }

func (a *SSHAuth) defaults() (userName, addr, socket string, timeout time.Duration) {
	userName = a.User
	if userName == "" {
		userName = os.Getenv("USER")
	}
	if userName == "" {
		if u, err := user.Current(); err == nil {
			userName = u.Username
		}
	}
	port := a.Port
	if port == 0 {
		port = 22
	}
	addr = net.JoinHostPort(a.Host, strconv.Itoa(port))
	socket = a.Socket
	if socket == "" {
		p := a.UDPPort
		if p == 0 {
			p = DefaultPort
		}
		socket = DefaultTicketSocket(p)
	}
	timeout = a.Timeout
	if timeout <= 0 {
		timeout = DefaultSSHTimeout
	}
	return
}

// Credential implements Authenticator: one SSH login, one ticket.
func (a *SSHAuth) Credential(ctx context.Context) (Credential, error) {
	userName, addr, socket, timeout := a.defaults()
	target := userName + "@" + addr
	fail := func(step string, err error) (Credential, error) {
		return Credential{}, &SSHError{Target: target, Step: step, Err: err}
	}
	home, _ := os.UserHomeDir()
	knownFiles := a.KnownHosts
	if knownFiles == nil {
		knownFiles = existing(filepath.Join(home, ".ssh", "known_hosts"), "/etc/ssh/ssh_known_hosts")
		if len(knownFiles) == 0 {
			return fail("host key", fmt.Errorf("no known_hosts file (%s)", filepath.Join(home, ".ssh", "known_hosts")))
		}
	}
	hostKeys, err := knownhosts.New(knownFiles...)
	if err != nil {
		return fail("host key", err)
	}
	var methods []ssh.AuthMethod
	var tried []string
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" && !a.NoAgent {
		if c, err := net.Dial("unix", sock); err == nil {
			defer c.Close()
			methods = append(methods, ssh.PublicKeysCallback(agent.NewClient(c).Signers))
			tried = append(tried, "agent")
		}
	}
	idFiles := a.Identities
	if idFiles == nil {
		idFiles = existing(filepath.Join(home, ".ssh", "id_ed25519"), filepath.Join(home, ".ssh", "id_ecdsa"), filepath.Join(home, ".ssh", "id_rsa"))
	}
	var signers []ssh.Signer
	var keyErrs []string
	for _, f := range idFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			keyErrs = append(keyErrs, err.Error())
			continue
		}
		sg, err := ssh.ParsePrivateKey(b)
		if err != nil {
			var pm *ssh.PassphraseMissingError
			if errors.As(err, &pm) {
				keyErrs = append(keyErrs, f+": protected by a passphrase (load it into ssh-agent)")
			} else {
				keyErrs = append(keyErrs, f+": "+err.Error())
			}
			continue
		}
		signers = append(signers, sg)
		tried = append(tried, f)
	}
	if len(signers) > 0 {
		methods = append(methods, ssh.PublicKeys(signers...))
	}
	if len(methods) == 0 {
		why := "no usable key (no ssh-agent, no ~/.ssh/id_ed25519, id_ecdsa or id_rsa)"
		if len(keyErrs) > 0 {
			why = "no usable key: " + strings.Join(keyErrs, "; ")
		}
		return fail("authentication", errors.New(why))
	}
	cfg := &ssh.ClientConfig{
		User:              userName,
		Auth:              methods,
		HostKeyCallback:   hostKeys,
		HostKeyAlgorithms: knownAlgorithms(hostKeys, addr),
		Timeout:           timeout,
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	tcp, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fail("connect", err)
	}
	stop := context.AfterFunc(ctx, func() { tcp.Close() })
	defer stop()
	defer tcp.Close()
	tcp.SetDeadline(time.Now().Add(timeout))
	conn, chans, reqs, err := ssh.NewClientConn(tcp, addr, cfg)
	if err != nil {
		var ke *knownhosts.KeyError
		switch {
		case errors.As(err, &ke) && len(ke.Want) == 0:
			return fail("host key", fmt.Errorf("%s is not in known_hosts (%s)", addr, strings.Join(knownFiles, ", ")))
		case errors.As(err, &ke):
			return fail("host key", fmt.Errorf("HOST KEY MISMATCH for %s: the key in %s:%d differs from the server's", addr, ke.Want[0].Filename, ke.Want[0].Line))
		case strings.Contains(err.Error(), "unable to authenticate"):
			return fail("authentication", fmt.Errorf("the server refused every key tried (%s)", strings.Join(tried, ", ")))
		}
		return fail("connect", err)
	}
	client := ssh.NewClient(conn, chans, reqs)
	defer client.Close()
	ch, err := client.DialContext(ctx, "unix", socket)
	if err != nil {
		return fail("ticket", fmt.Errorf("cannot reach the cryptcab server's ticket socket %s: %v", socket, err))
	}
	defer ch.Close()
	if _, err := io.WriteString(ch, ticketMagic); err != nil {
		return fail("ticket", err)
	}
	var reply [ticketReplyLen]byte
	if _, err := io.ReadFull(ch, reply[:]); err != nil {
		return fail("ticket", fmt.Errorf("no ticket from %s: %v", socket, err))
	}
	if string(reply[:len(ticketMagic)]) != ticketMagic {
		return fail("ticket", fmt.Errorf("%s is not a cryptcab ticket socket", socket))
	}
	if reply[len(ticketMagic)] != 0 {
		return fail("ticket", errors.New("the server refused a ticket (too many pending)"))
	}
	var c Credential
	c.ID = binary.LittleEndian.Uint64(reply[len(ticketMagic)+1:])
	copy(c.Key[:], reply[len(ticketMagic)+9:])
	return c, nil
}

// knownAlgorithms lists the host key algorithms known_hosts holds for
// addr, so that the server is asked for a key we can check; nil (the
// library's default order) when there is none.
func knownAlgorithms(cb ssh.HostKeyCallback, addr string) []string {
	probe, err := ssh.NewPublicKey(probeKey)
	if err != nil {
		return nil
	}
	var ke *knownhosts.KeyError
	if err := cb(addr, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 22}, probe); !errors.As(err, &ke) {
		return nil
	}
	var algos []string
	for _, k := range ke.Want {
		switch t := k.Key.Type(); t {
		case ssh.KeyAlgoRSA:
			algos = append(algos, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
		default:
			algos = append(algos, t)
		}
	}
	return algos
}

func existing(paths ...string) []string {
	var out []string
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// probeKey is an ed25519 public key nobody has the private half of (all
// 0x01 bytes is a valid encoding): asking known_hosts about it lists the
// keys that are there for a host.
var probeKey = ed25519.PublicKey{
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
}
