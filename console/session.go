package console

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"syscall"
)

const (
	// Banner is what a management connection reads first.
	Banner = "VDE switch V.2.3.2\n(C) Virtual Square Team (coord. R. Davoli) 2005,2006,2007 - GPLv2\n"
	// Prompt follows every command's output.
	Prompt = "\nvde$ "
	// EndOfSession ends a session (logout, shutdown); no newline.
	EndOfSession = "9999 END OF SESSION"
	dataHeader   = "0000 DATA END WITH '.'\n"
)

// Ctx is what a command handler writes to.
type Ctx struct {
	// Out collects the command's data lines.
	Out *bytes.Buffer
	// Session is the console connection, nil for rc files.
	Session *Session
	// Depth counts nested loads (a script loading itself stops at 8).
	Depth int
	// Script is set for the lines of rc files and load: logout and
	// shutdown print nothing there and end nothing.
	Script bool
}

// Printf writes one data line (a newline is appended).
func (c *Ctx) Printf(format string, args ...any) {
	fmt.Fprintf(c.Out, format, args...)
	c.Out.WriteByte('\n')
}

// Session is one console: a management connection or the stdin console.
// Its writes are serialized, so asynchronous debug lines never split a
// command's output.
type Session struct {
	reg    *Registry
	mu     sync.Mutex
	out    io.Writer
	prompt func() // writes the prompt (the stdin console writes it to fd 0)
	subs   map[string]bool
	hub    *Hub
	async  chan string
	done   chan struct{}
	once   sync.Once
	// Stdin marks the stdin console (logout does nothing there).
	Stdin bool
	// promptInline: the prompt goes to out, in the same write as the output.
	promptInline bool
}

// NewSession returns a session writing to out. prompt, if not nil,
// replaces the default prompt writer (out). hub, if not nil, lets the
// session subscribe to debug events.
func NewSession(reg *Registry, out io.Writer, prompt func(), hub *Hub) *Session {
	s := &Session{reg: reg, out: out, prompt: prompt, hub: hub, subs: map[string]bool{},
		async: make(chan string, 256), done: make(chan struct{})}
	if s.prompt == nil {
		s.promptInline = true
		s.prompt = func() { io.WriteString(s.out, Prompt) }
	}
	go s.asyncWriter()
	return s
}

// Close ends the session's debug subscriptions and its async writer.
func (s *Session) Close() {
	s.once.Do(func() {
		if s.hub != nil {
			s.hub.unsubscribeAll(s)
		}
		close(s.done)
	})
}

func (s *Session) asyncWriter() {
	for {
		select {
		case line := <-s.async:
			s.mu.Lock()
			io.WriteString(s.out, line)
			s.mu.Unlock()
		case <-s.done:
			return
		}
	}
}

// notify queues an asynchronous line; it never blocks (a console that
// does not read loses debug lines, not the switch's time).
func (s *Session) notify(line string) {
	select {
	case s.async <- line:
	default:
	}
}

// Result of Exec.
type Result int

const (
	Continue Result = iota
	Quiet           // no output, no prompt
	Logout
	Shutdown
)

// WritePrompt writes the prompt.
func (s *Session) WritePrompt() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prompt()
}

// Exec runs one command line and writes its output and the prompt.
func (s *Session) Exec(line string) Result {
	var buf bytes.Buffer
	r := s.run(&Ctx{Out: &buf, Session: s}, line)
	s.mu.Lock()
	defer s.mu.Unlock()
	if r == Continue && s.promptInline {
		buf.WriteString(Prompt) // output and prompt in one write, as vde_switch
	}
	s.out.Write(buf.Bytes())
	if r == Continue && !s.promptInline {
		s.prompt()
	}
	return r
}

// run executes line into c.Out (no prompt) and reports how the session
// goes on.
func (s *Session) run(c *Ctx, line string) Result {
	line = strings.TrimLeft(line, " \t")
	if line == "" || line[0] == '#' {
		return Continue
	}
	cmd, arg := s.reg.Lookup(line)
	if cmd == nil {
		c.Out.WriteString(ResultLine(syscall.ENOSYS))
		return Continue
	}
	if cmd.NeedsConn && c.Session == nil {
		if cmd.Kind == WithFile {
			c.Out.WriteString(dataHeader + ".\n")
		}
		c.Out.WriteString(ResultLine(syscall.EBADF))
		return Continue
	}
	var data bytes.Buffer
	err := cmd.Run(&Ctx{Out: &data, Session: c.Session, Depth: c.Depth, Script: c.Script}, arg)
	switch {
	case c.Script && (err == ErrLogout || err == ErrShutdown || err == ErrQuiet):
		return Continue
	case err == ErrQuiet:
		return Quiet
	case err == ErrLogout:
		c.Out.WriteString(EndOfSession)
		return Logout
	case err == ErrShutdown:
		c.Out.WriteString(EndOfSession)
		return Shutdown
	}
	if cmd.Kind == WithFile {
		c.Out.WriteString(dataHeader)
		c.Out.Write(data.Bytes())
		c.Out.WriteString(".\n")
	} else {
		c.Out.Write(data.Bytes())
	}
	c.Out.WriteString(ResultLine(err))
	return Continue
}

// Registry returns the session's command table.
func (s *Session) Registry() *Registry { return s.reg }
