package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// pidfile is a pid file created exclusively (vde_switch refuses to start
// when it exists) and removed at exit.
type pidfile struct{ path string }

// absPath makes a relative pid file name absolute from the startup
// directory, as vde_switch does before daemonizing.
func absPath(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

func writePidfile(path string, exclusive bool) (*pidfile, error) {
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if exclusive {
		flags = os.O_WRONLY | os.O_CREATE | os.O_EXCL
	}
	f, err := os.OpenFile(path, flags, 0644)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "%d\n", os.Getpid()); err != nil {
		return nil, err
	}
	return &pidfile{path: path}, nil
}

func (p *pidfile) remove() {
	if p != nil {
		os.Remove(p.path)
	}
}
