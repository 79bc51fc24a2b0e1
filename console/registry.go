// Package console is govde's management console: one registry of commands
// (path, syntax, help, handler) served on the stdin console, on management
// sockets, from rc files and by `load`, with vde_switch's exact framing
// (banner, `vde$ ` prompt, `0000 DATA END WITH '.'` blocks, `1000 Success`
// and `1xxx <strerror>` result lines, `3xxx` asynchronous debug lines).
// `help`, vdeterm's completion and any future API are generated from the
// registry, so they never drift apart. Tools (the switch, wirefilter) fill
// the registry with their own commands.
package console

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
)

// Kind is how a command's output is framed.
type Kind int

const (
	// Menu is a menu header: listed by help, never executed.
	Menu Kind = iota
	// Plain commands print only their result line.
	Plain
	// WithFile commands print a data block before the result line, even
	// when they fail.
	WithFile
)

// Command is one entry of the command tree.
type Command struct {
	Path   string
	Syntax string
	Help   string
	Kind   Kind
	// NeedsConn marks commands that need a console connection (load,
	// debug/*): they fail with EBADF from rc files.
	NeedsConn bool
	// Run executes the command with arg (the input after the path, leading
	// blanks skipped). It writes data lines to c.Out and returns nil or an
	// error carrying a syscall.Errno.
	Run func(c *Ctx, arg string) error
}

// Registry is an ordered command table. Lookup scans it in registration
// order, as vde_switch does.
type Registry struct {
	mu   sync.RWMutex
	cmds []*Command
}

// Add appends commands (a menu header first, then its entries).
func (r *Registry) Add(cmds ...Command) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range cmds {
		c := cmds[i]
		r.cmds = append(r.cmds, &c)
	}
}

// Remove deletes every command whose path is prefix or starts with
// prefix+"/" (plugin/del).
func (r *Registry) Remove(prefix string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.cmds[:0]
	for _, c := range r.cmds {
		if c.Path != prefix && !strings.HasPrefix(c.Path, prefix+"/") {
			out = append(out, c)
		}
	}
	r.cmds = out
}

// Commands returns the table in order.
func (r *Registry) Commands() []*Command {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return append([]*Command(nil), r.cmds...)
}

// Lookup returns the first non-menu command whose path is a prefix of
// input, and the argument: the rest of the input with leading spaces and
// tabs skipped. So `helpport` is `help port` and `port/printfoo` is
// `port/print foo`, as in vde_switch.
func (r *Registry) Lookup(input string) (*Command, string) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, c := range r.cmds {
		if c.Kind != Menu && strings.HasPrefix(input, c.Path) {
			return c, strings.TrimLeft(input[len(c.Path):], " \t")
		}
	}
	return nil, ""
}

// Help writes the help table for entries whose path starts with prefix.
func (r *Registry) Help(c *Ctx, prefix string) {
	c.Printf("%-18s %-15s %s", "COMMAND PATH", "SYNTAX", "HELP")
	c.Printf("%-18s %-15s %s", "------------", "--------------", "------------")
	for _, cmd := range r.Commands() {
		if !strings.HasPrefix(cmd.Path, prefix) {
			continue
		}
		syntax := cmd.Syntax
		if cmd.Kind == Menu {
			syntax = "============"
		}
		c.Printf("%-18s %-15s %s", cmd.Path, syntax, cmd.Help)
	}
}

// ErrLogout and ErrShutdown are returned by the logout and shutdown
// handlers: the session ends with `9999 END OF SESSION`.
var (
	// ErrQuiet ends a command with no output at all, not even a prompt
	// (logout on the stdin console).
	ErrQuiet    = errors.New("quiet")
	ErrLogout   = errors.New("logout")
	ErrShutdown = errors.New("shutdown")
)

// ResultLine formats the result line for err as vde_switch does.
func ResultLine(err error) string {
	if err == nil {
		return "1000 Success\n"
	}
	var e syscall.Errno
	if !errors.As(err, &e) {
		e = syscall.EINVAL
	}
	return fmt.Sprintf("1%03d %s\n", int(e), Strerror(e))
}

// Strerror returns glibc's text for an errno.
func Strerror(e syscall.Errno) string {
	s := e.Error()
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
