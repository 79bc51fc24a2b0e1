package main

import (
	"fmt"
	"io"
	"log/syslog"
	"os"
	"sync"
)

// logger writes `prog: message` lines to stderr, or to syslog once the tool
// runs as a daemon (as the C tools do).
type logger struct {
	mu   sync.Mutex
	prog string
	w    io.Writer
	sys  *syslog.Writer
}

func newLogger(prog string) *logger { return &logger{prog: prog, w: os.Stderr} }

// toSyslog switches to syslog (ident prog); without a syslog daemon the
// lines are discarded, as daemon(0,0) would have sent stderr to /dev/null.
func (l *logger) toSyslog(facility syslog.Priority) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if w, err := syslog.New(facility|syslog.LOG_INFO, l.prog); err == nil {
		l.sys = w
	}
	l.w = io.Discard
}

func (l *logger) Printf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sys != nil {
		l.sys.Info(msg)
		return
	}
	fmt.Fprintf(l.w, "%s: %s\n", l.prog, msg)
}
