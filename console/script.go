package console

import (
	"bufio"
	"io"
	"os"
	"syscall"
)

// maxScriptLine is vde_switch's fgets buffer: longer lines are read in
// pieces of 127 bytes, each run as a command.
const maxScriptLine = 128

// scriptLines splits r as fgets(buf, 128) does, stripping the trailing
// newline unless the line is only "\n".
func scriptLines(r io.Reader, fn func(line string)) {
	br := bufio.NewReader(r)
	for {
		var line []byte
		for len(line) < maxScriptLine-1 {
			b, err := br.ReadByte()
			if err != nil {
				break
			}
			line = append(line, b)
			if b == '\n' {
				break
			}
		}
		if len(line) == 0 {
			return
		}
		if n := len(line); n > 1 && line[n-1] == '\n' {
			line = line[:n-1]
		}
		fn(string(line))
	}
}

// RunScript executes the file at path line by line for `load` (c.Session
// set: every line is echoed as `vde[path]: line` before its output) or for
// an rc file (c.Session nil, output discarded by the caller). logout and
// shutdown inside a script do nothing.
func RunScript(reg *Registry, c *Ctx, path string) error {
	if c.Depth >= 8 {
		return syscall.ELOOP
	}
	f, err := os.Open(path)
	if err != nil {
		return syscall.ENOENT
	}
	defer f.Close()
	s := c.Session
	runner := s
	if runner == nil {
		runner = &Session{reg: reg}
	}
	scriptLines(f, func(line string) {
		if s != nil {
			c.Out.WriteString("vde[" + path + "]: " + line + "\n")
		}
		sub := &Ctx{Out: c.Out, Session: s, Depth: c.Depth + 1, Script: true}
		runner.run(sub, line)
	})
	return nil
}
