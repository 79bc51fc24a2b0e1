package console

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
)

const (
	readSize = 4096
	// MaxLine is the longest command line accepted on a connection; a
	// longer one is answered with EINVAL and discarded up to its newline.
	MaxLine = 64 << 10
)

// ErrInUse means another live process serves the management socket path;
// vde_switch then runs without one.
var ErrInUse = errors.New("management socket in use")

// Server serves the management socket (-M).
type Server struct {
	ln         *net.UnixListener
	path       string
	reg        *Registry
	hub        *Hub
	onShutdown func()
	mu         sync.Mutex
	conns      map[net.Conn]bool
	wg         sync.WaitGroup
}

// Listen creates the management socket at path with mode and group (gid
// -1: none). A stale socket file is replaced; a live one gives ErrInUse.
// onShutdown runs when a client says `shutdown`.
func Listen(path string, mode os.FileMode, gid int, reg *Registry, hub *Hub, onShutdown func()) (*Server, error) {
	addr := &net.UnixAddr{Name: path, Net: "unix"}
	ln, err := net.ListenUnix("unix", addr)
	if err != nil && errors.Is(err, syscall.EADDRINUSE) {
		if c, derr := net.Dial("unix", path); derr == nil {
			c.Close()
			return nil, ErrInUse
		}
		os.Remove(path)
		ln, err = net.ListenUnix("unix", addr)
	}
	if err != nil {
		return nil, err
	}
	ln.SetUnlinkOnClose(true)
	os.Chmod(path, mode)
	if gid >= 0 {
		os.Chown(path, -1, gid)
	}
	s := &Server{ln: ln, path: path, reg: reg, hub: hub, onShutdown: onShutdown, conns: map[net.Conn]bool{}}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Path returns the socket path.
func (s *Server) Path() string { return s.path }

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = true
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

// Close removes the socket and ends every connection.
func (s *Server) Close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) handle(c net.Conn) {
	defer c.Close()
	io.WriteString(c, Banner)
	sess := NewSession(s.reg, c, nil, s.hub)
	defer sess.Close()
	sess.WritePrompt()
	lines := &lineSplitter{}
	buf := make([]byte, readSize)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			for _, cmd := range lines.feed(buf[:n], n == len(buf)) {
				if cmd.tooLong {
					sess.mu.Lock()
					io.WriteString(c, ResultLine(syscall.EINVAL))
					sess.prompt()
					sess.mu.Unlock()
					continue
				}
				switch sess.Exec(cmd.text) {
				case Logout:
					return
				case Shutdown:
					c.Close()
					if s.onShutdown != nil {
						go s.onShutdown()
					}
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

type command struct {
	text    string
	tooLong bool
}

// lineSplitter turns what a connection sends into commands. vde_switch runs
// whatever one read returns as one command (vdeterm sends commands without
// a newline); we additionally split on newlines, so scripts and socat can
// send several commands in one write. A read that fills the buffer without
// a newline waits for the rest of its line.
type lineSplitter struct {
	pending    []byte
	discarding bool
}

func (l *lineSplitter) feed(chunk []byte, full bool) []command {
	var out []command
	data := append(l.pending, chunk...)
	l.pending = nil
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		line := data[:i]
		data = data[i+1:]
		if l.discarding {
			l.discarding = false
			continue
		}
		out = append(out, command{text: string(line)})
	}
	switch {
	case len(data) == 0:
	case l.discarding:
	case len(data) > MaxLine:
		out = append(out, command{tooLong: true})
		l.discarding = true
	case full:
		l.pending = append([]byte(nil), data...)
	default:
		out = append(out, command{text: string(data)})
	}
	return out
}

// ServeStdin runs the stdin console: one command per line from in, output
// to out, the prompt written by prompt (vde_switch writes it to fd 0,
// which works on a terminal and is silently lost on a pipe). logout does
// nothing here; shutdown returns Shutdown. It returns Continue at EOF.
func ServeStdin(reg *Registry, hub *Hub, in io.Reader, out io.Writer, prompt func()) Result {
	if prompt == nil {
		prompt = func() {}
	}
	sess := NewSession(reg, out, prompt, hub)
	sess.Stdin = true
	defer sess.Close()
	lines := &lineSplitter{}
	buf := make([]byte, readSize)
	for {
		n, err := in.Read(buf)
		var cmds []command
		if n > 0 {
			cmds = lines.feed(buf[:n], true)
		}
		if err != nil && len(lines.pending) > 0 {
			cmds = append(cmds, command{text: string(lines.pending)})
		}
		for _, cmd := range cmds {
			if cmd.tooLong {
				sess.mu.Lock()
				io.WriteString(out, ResultLine(syscall.EINVAL))
				sess.prompt()
				sess.mu.Unlock()
				continue
			}
			if sess.Exec(cmd.text) == Shutdown {
				return Shutdown
			}
		}
		if err != nil {
			return Continue
		}
	}
}
