// Package sshtest is an SSH server for tests of cryptcab's SSH
// authentication: it listens on 127.0.0.1 with a generated host key,
// accepts public-key logins from the keys it is given, and serves only
// what a cryptcab client uses, direct-streamlocal@openssh.com channels
// (forwarding to a unix socket, as OpenSSH does for `ssh -L` to a socket).
// It also writes the client-side files (private key, known_hosts) into a
// directory the test owns. Nothing here touches the real ~/.ssh.
package sshtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Server is a running test SSH server. Its methods are safe for
// concurrent use.
type Server struct {
	// Addr is "127.0.0.1:PORT".
	Addr string
	// HostKey is the server's public host key.
	HostKey ssh.PublicKey

	ln         net.Listener
	cfg        *ssh.ServerConfig
	mu         sync.Mutex
	authorized map[string]bool
	conns      map[net.Conn]struct{}
	wg         sync.WaitGroup
	closed     atomic.Bool

	// Logins and Refused count successful and failed public-key logins;
	// Forwards counts direct-streamlocal channels opened.
	Logins, Refused, Forwards atomic.Int64
}

// Start listens on 127.0.0.1 (a free port) and serves until Close. Logins
// are accepted for the given public keys, whatever the user name.
func Start(authorized ...ssh.PublicKey) (*Server, error) {
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	signer, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		return nil, err
	}
	s := &Server{HostKey: signer.PublicKey(), authorized: map[string]bool{}, conns: map[net.Conn]struct{}{}}
	for _, k := range authorized {
		s.Authorize(k)
	}
	s.cfg = &ssh.ServerConfig{
		PublicKeyCallback: func(c ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			s.mu.Lock()
			ok := s.authorized[string(k.Marshal())]
			s.mu.Unlock()
			if !ok {
				return nil, errors.New("sshtest: key not authorized")
			}
			return &ssh.Permissions{}, nil
		},
		AuthLogCallback: func(c ssh.ConnMetadata, method string, err error) {
			if method != "publickey" {
				return
			}
			if err == nil {
				s.Logins.Add(1)
			} else {
				s.Refused.Add(1)
			}
		},
	}
	s.cfg.AddHostKey(signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.ln = ln
	s.Addr = ln.Addr().String()
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Port returns the TCP port the server listens on.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Authorize accepts logins with key from now on.
func (s *Server) Authorize(key ssh.PublicKey) {
	s.mu.Lock()
	s.authorized[string(key.Marshal())] = true
	s.mu.Unlock()
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed.Load() {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// streamLocal is the payload of a direct-streamlocal@openssh.com open
// request (OpenSSH PROTOCOL, section 2.4).
type streamLocal struct {
	SocketPath string
	Reserved0  string
	Reserved1  uint32
}

func (s *Server) handle(c net.Conn) {
	defer c.Close()
	conn, chans, reqs, err := ssh.NewServerConn(c, s.cfg)
	if err != nil {
		return
	}
	defer conn.Close()
	go ssh.DiscardRequests(reqs)
	var wg sync.WaitGroup
	defer wg.Wait()
	for nc := range chans {
		if nc.ChannelType() != "direct-streamlocal@openssh.com" {
			nc.Reject(ssh.UnknownChannelType, "only direct-streamlocal@openssh.com")
			continue
		}
		var req streamLocal
		if err := ssh.Unmarshal(nc.ExtraData(), &req); err != nil {
			nc.Reject(ssh.ConnectionFailed, "bad request")
			continue
		}
		target, err := net.Dial("unix", req.SocketPath)
		if err != nil {
			nc.Reject(ssh.ConnectionFailed, err.Error())
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			target.Close()
			continue
		}
		s.Forwards.Add(1)
		go ssh.DiscardRequests(creqs)
		wg.Add(2)
		go func() {
			defer wg.Done()
			io.Copy(target, ch)
			if u, ok := target.(*net.UnixConn); ok {
				u.CloseWrite()
			}
		}()
		go func() {
			defer wg.Done()
			io.Copy(ch, target)
			ch.CloseWrite()
			ch.Close()
			target.Close()
		}()
	}
}

// Close stops the server, ends every connection and waits for its
// goroutines.
func (s *Server) Close() error {
	s.closed.Store(true)
	err := s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

// NewClientKey writes a new unencrypted ed25519 private key in OpenSSH
// format to path (mode 0600) and returns its public key.
func NewClientKey(path string) (ssh.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	blk, err := ssh.MarshalPrivateKey(priv, "sshtest")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(blk), 0600); err != nil {
		return nil, err
	}
	return ssh.NewPublicKey(pub)
}

// WriteKnownHosts writes a known_hosts file at path naming the server's
// host key for its address ([127.0.0.1]:PORT).
func (s *Server) WriteKnownHosts(path string) error {
	line := knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, s.HostKey)
	return os.WriteFile(path, []byte(line+"\n"), 0644)
}

// HomeDir makes dir look like a home directory for the server: it writes
// dir/.ssh/id_ed25519 (a new key, authorized on s) and dir/.ssh/known_hosts,
// so that a client run with HOME=dir uses them by default. It returns the
// key file's path.
func (s *Server) HomeDir(dir string) (string, error) {
	d := filepath.Join(dir, ".ssh")
	if err := os.MkdirAll(d, 0700); err != nil {
		return "", err
	}
	key := filepath.Join(d, "id_ed25519")
	pub, err := NewClientKey(key)
	if err != nil {
		return "", err
	}
	s.Authorize(pub)
	return key, s.WriteKnownHosts(filepath.Join(d, "known_hosts"))
}
