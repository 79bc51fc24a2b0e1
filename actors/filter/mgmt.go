package filter

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The management console of wirefilter, with the original's framing (the
// vde_switch style): a banner on connect, the prompt "\nVDEwf$ " after each
// command, commands that print data framed by "0000 DATA END WITH '.'" and
// ".", then "1000 Success" or "1%03d <strerror>".

// Banner is what a management connection receives first (before the
// prompt).
const Banner = "\nVDE wirefilter V.2.3.2\n(C) R.Davoli 2005,2006 - GPLv2\n"

// Prompt follows every command's result.
const Prompt = "\nVDEwf$ "

// maxLine is the longest output line: the original formats each line into
// a 128-byte buffer (127 characters and the terminator), then adds "\n".
const maxLine = 127

// rvLogout is the result of logout: printed as "1-01 Unknown error -1",
// no prompt, the session ends.
const rvLogout = -1

// maxLoadDepth bounds nested load commands (a file loading itself).
const maxLoadDepth = 16

// Session is one console: a management connection, the stdin console of
// -v mode, or an rc file (no output). A session runs one command at a time;
// Markov debug lines may be written to it from the Markov timer.
type Session struct {
	c     *Control
	out   io.Writer // nil for rc files
	wmu   sync.Mutex
	buf   bytes.Buffer // the running command's output
	debug int
	depth int
}

// NewSession returns a console session writing to out (nil: an rc file,
// whose errors go to the Control's log).
func (c *Control) NewSession(out io.Writer) *Session { return &Session{c: c, out: out} }

// Close detaches the session (stops its debug output).
func (s *Session) Close() {
	s.c.mu.Lock()
	delete(s.c.sessions, s)
	s.c.mu.Unlock()
}

// printf writes one output line of the running command, as printoutc.
func (s *Session) printf(format string, args ...any) {
	if s.out == nil {
		return
	}
	line := fmt.Sprintf(format, args...)
	if len(line) > maxLine {
		line = line[:maxLine]
	}
	s.buf.WriteString(line)
	s.buf.WriteByte('\n')
}

// asyncTimeout bounds the write of a debug line to a connection, so that a
// client that does not read cannot stall the Markov clock (which holds the
// Control's lock while it reports).
const asyncTimeout = time.Second

// async writes a debug line at once (c.mu is held by the caller).
func (s *Session) async(line string) {
	if s.out == nil {
		return
	}
	if len(line) > maxLine {
		line = line[:maxLine]
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if d, ok := s.out.(interface{ SetWriteDeadline(time.Time) error }); ok {
		d.SetWriteDeadline(time.Now().Add(asyncTimeout))
		defer d.SetWriteDeadline(time.Time{})
	}
	io.WriteString(s.out, line+"\n")
}

// Exec runs one command read from the session's input and writes its
// output and the prompt. It reports false when the session must end
// (logout, or shutdown, after which nothing more is printed).
func (s *Session) Exec(line string) bool {
	s.c.mu.Lock()
	if s.c.shutting {
		s.c.mu.Unlock()
		return false
	}
	rv := s.c.handleCmd(s, line)
	shutting := s.c.shutting
	s.c.mu.Unlock()
	if shutting {
		s.buf.Reset()
		s.c.shutdown()
		return false
	}
	if rv >= 0 {
		s.buf.WriteString(Prompt)
	}
	s.flush()
	return rv >= 0
}

// RunScript runs the commands of an rc file (wirefilter -f) without output;
// failing commands are logged as "rc command error: <line> <strerror>".
func (c *Control) RunScript(path string) error {
	s := c.NewSession(nil)
	c.mu.Lock()
	rv := c.runScript(s, path)
	shutting := c.shutting
	c.mu.Unlock()
	if shutting {
		c.shutdown()
	}
	if rv != 0 {
		return syscall.Errno(rv)
	}
	return nil
}

func (s *Session) flush() {
	if s.out == nil || s.buf.Len() == 0 {
		s.buf.Reset()
		return
	}
	s.wmu.Lock()
	s.out.Write(s.buf.Bytes())
	s.wmu.Unlock()
	s.buf.Reset()
}

// command is one console command of the table, matched in order by
// prefix: the first name the input starts with wins (so "delayfoo 3" runs
// delay), as the original does.
type command struct {
	name     string
	withFile bool // prints a data block
	run      func(c *Control, s *Session, arg string) int
}

var commands []command

func init() {
	commands = []command{
		{"help", true, cmdHelp},
		{"showinfo", true, cmdShowinfo},
		{"load", true, cmdLoad},
		{"delay", false, setter(Delay)},
		{"loss", false, setter(Loss)},
		{"lostburst", false, setter(LostBurst)},
		{"dup", false, setter(Dup)},
		{"bandwidth", false, setter(Band)},
		{"band", false, setter(Band)},
		{"speed", false, setter(Speed)},
		{"chanbufsize", false, setter(ChanBufSize)},
		{"capacity", false, setter(ChanBufSize)},
		{"noise", false, setter(Noise)},
		{"mtu", false, setter(MTU)},
		{"fifo", false, cmdFifo},
		{"markov-numnodes", false, cmdNumNodes},
		{"markov-setnode", false, cmdSetNode},
		{"markov-name", false, cmdName},
		{"markov-time", false, cmdTime},
		{"setedge", false, cmdSetEdge},
		{"showedges", true, cmdShowEdges},
		{"showcurrent", true, cmdShowCurrent},
		{"markov-debug", false, cmdDebug},
		{"logout", false, func(*Control, *Session, string) int { return rvLogout }},
		{"shutdown", false, cmdShutdown},
	}
}

// handleCmd runs one command line (handle_cmd of the original): leading
// blanks skipped, trailing ones stripped, empty lines and comments do
// nothing (and print nothing). It returns the errno (0 for success,
// rvLogout for logout). c.mu is held.
func (c *Control) handleCmd(s *Session, in string) int {
	rv := int(syscall.ENOSYS)
	orig := delnl(in)
	in = delnl(strings.TrimLeft(in, " \t\n"))
	if in == "" || in[0] == '#' {
		return rv
	}
	for _, cmd := range commands {
		if !strings.HasPrefix(in, cmd.name) {
			continue
		}
		arg := strings.TrimLeft(in[len(cmd.name):], " \t")
		if cmd.withFile {
			s.printf("0000 DATA END WITH '.'")
		}
		rv = cmd.run(c, s, arg)
		if c.shutting {
			return 0
		}
		if cmd.withFile {
			s.printf(".")
		}
		break
	}
	switch {
	case s.out != nil && rv == 0:
		s.printf("1000 Success")
	case s.out != nil:
		s.printf("1%03d %s", rv, Strerror(rv))
	case rv != 0:
		c.logf("rc command error: %s %s", orig, Strerror(rv))
	}
	return rv
}

// delnl strips trailing newlines, blanks and tabs, never the first
// character (the original's delnl).
func delnl(s string) string {
	n := len(s) - 1
	for n > 0 && (s[n] == '\n' || s[n] == ' ' || s[n] == '\t') {
		n--
	}
	return s[:n+1]
}

// Strerror returns glibc's text for errno rv ("Unknown error -1" for -1),
// as the console prints it.
func Strerror(rv int) string {
	if rv <= 0 {
		return fmt.Sprintf("Unknown error %d", rv)
	}
	msg := syscall.Errno(rv).Error()
	if strings.HasPrefix(msg, "errno ") {
		return fmt.Sprintf("Unknown error %d", rv)
	}
	return strings.ToUpper(msg[:1]) + msg[1:]
}

// shutdown runs the shutdown hook once.
func (c *Control) shutdown() {
	c.shutOnce.Do(func() {
		if c.onShutdown != nil {
			c.onShutdown()
		}
	})
}
