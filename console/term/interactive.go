package term

import (
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/chzyer/readline"
)

// Interactive runs vdeterm on the console at path: a `vde[path]: ` prompt
// with line editing, history and TAB completion of the console's commands;
// debug lines appear as `** DBG MSG: …` while you type. logout ends the
// terminal; shutdown ends it after the console answers.
func Interactive(path string, in io.ReadCloser, out io.Writer) error {
	t, banner, err := Dial(path, 5*time.Second)
	if err != nil {
		return err
	}
	defer t.Close()
	fmt.Fprint(out, banner)
	cmds, err := t.Commands()
	if err != nil {
		return err
	}
	rl, err := readline.NewEx(&readline.Config{
		Prompt:       "vde[" + path + "]: ",
		AutoComplete: completer(cmds),
		Stdin:        in,
		Stdout:       out,
		HistoryFile:  historyFile(),
	})
	if err != nil {
		return err
	}
	defer rl.Close()
	t.Debug = func(line string) { fmt.Fprintf(rl.Stdout(), "** DBG MSG: %s\n", line[5:]) }
	for {
		line, err := rl.Readline()
		if err == readline.ErrInterrupt {
			continue
		}
		if err != nil { // EOF
			return nil
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if line == "logout" {
			return nil
		}
		r, err := t.Do(line, 30*time.Second)
		if err != nil {
			return err
		}
		for _, d := range r.Data {
			fmt.Fprintln(rl.Stdout(), d)
		}
		if r.Code == 9999 {
			return nil
		}
		if r.Code != 0 {
			fmt.Fprintln(rl.Stdout(), r.Text)
		}
	}
}

// completer completes the command word from the console's command list;
// like vdeterm it drops a menu name that is followed by its entries.
type completer []string

func (c completer) Do(line []rune, pos int) ([][]rune, int) {
	word := string(line[:pos])
	if strings.ContainsAny(word, " \t") {
		return nil, 0
	}
	var out [][]rune
	for i, cmd := range c {
		if i+1 < len(c) && strings.HasPrefix(c[i+1], cmd+"/") {
			continue // a menu header
		}
		if strings.HasPrefix(cmd, word) {
			out = append(out, []rune(cmd[len(word):]+" "))
		}
	}
	return out, len([]rune(word))
}

func historyFile() string {
	if h, err := os.UserHomeDir(); err == nil {
		return h + "/.vdeterm_history"
	}
	return ""
}

// OneShot runs each command on the console at path and prints the data
// lines; it returns the first error response (1xxx) as an error.
func OneShot(path string, cmds []string, out io.Writer) error {
	t, _, err := Dial(path, 5*time.Second)
	if err != nil {
		return err
	}
	defer t.Close()
	for _, c := range cmds {
		r, err := t.Do(c, 30*time.Second)
		if err != nil {
			return err
		}
		for _, d := range r.Data {
			fmt.Fprintln(out, d)
		}
		if r.Code != 1000 && r.Code != 9999 {
			return fmt.Errorf("%s: %s", c, r.Text)
		}
	}
	return nil
}

// Relay is unixterm: bytes from in go to the console as they are (each
// line typed is one write), the console's bytes go to out unchanged, until
// either side ends.
func Relay(path string, in io.Reader, out io.Writer) error {
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	go func() {
		io.Copy(c, in)
		c.(*net.UnixConn).CloseWrite()
	}()
	_, err = io.Copy(out, c)
	return err
}
