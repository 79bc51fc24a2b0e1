package filter

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
)

// MaxMgmtConns is the most management connections served at once; more are
// logged ("too many mgmt connections") and closed. The original allows 3 to
// 6 depending on its mode (8 poll slots in all).
const MaxMgmtConns = 64

// readChunk is the most one read takes from a console.
const readChunk = 4096

// MgmtServer serves the console on a unix stream socket (wirefilter -M).
type MgmtServer struct {
	c     *Control
	ln    *net.UnixListener
	path  string
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// ListenMgmt creates the management socket at path with permissions mode
// and serves every connection in its own goroutine until Close. Like the
// original it fails when path exists.
func (c *Control) ListenMgmt(path string, mode os.FileMode) (*MgmtServer, error) {
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, err
	}
	m := &MgmtServer{c: c, ln: ln, path: path, conns: map[net.Conn]struct{}{}}
	m.wg.Add(1)
	go m.accept()
	return m, nil
}

// Path returns the socket path.
func (m *MgmtServer) Path() string { return m.path }

func (m *MgmtServer) accept() {
	defer m.wg.Done()
	for {
		conn, err := m.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			m.c.logf("mgmt accept %v", err)
			continue
		}
		m.mu.Lock()
		if m.conns == nil || len(m.conns) >= MaxMgmtConns {
			m.mu.Unlock()
			m.c.logf("too many mgmt connections")
			conn.Close()
			continue
		}
		m.conns[conn] = struct{}{}
		m.mu.Unlock()
		m.wg.Add(1)
		go m.serve(conn)
	}
}

func (m *MgmtServer) serve(conn net.Conn) {
	defer m.wg.Done()
	defer func() {
		m.mu.Lock()
		delete(m.conns, conn)
		m.mu.Unlock()
		conn.Close()
	}()
	if _, err := io.WriteString(conn, Banner+Prompt); err != nil {
		return
	}
	s := m.c.NewSession(conn)
	defer s.Close()
	Serve(s, conn)
}

// Close stops accepting, closes every connection, removes the socket file
// and waits for the connection goroutines.
func (m *MgmtServer) Close() {
	m.ln.Close()
	m.mu.Lock()
	for c := range m.conns {
		c.Close()
	}
	m.conns = nil
	m.mu.Unlock()
	m.wg.Wait()
}

// Serve runs the commands read from in on session s until in ends, a read
// fails, or a command ends the session (logout, shutdown). Each read is
// split at newlines and every piece is one command; a piece without a
// final newline is a command too, so a client that writes one command per
// write without a newline works as with the original (which takes each read
// as one command, swallowing a second command of the same write as argument
// text).
func Serve(s *Session, in io.Reader) error {
	buf := make([]byte, readChunk)
	for {
		n, err := in.Read(buf)
		if n > 0 {
			for _, cmd := range splitCommands(string(buf[:n])) {
				if !s.Exec(cmd) {
					return nil
				}
			}
		}
		if err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

func splitCommands(chunk string) []string {
	parts := strings.Split(chunk, "\n")
	if len(parts) > 1 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}
