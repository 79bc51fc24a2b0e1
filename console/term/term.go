// Package term is the client side of the management console: vdeterm (an
// interactive terminal with line editing, history, TAB completion built
// from the switch's own `help`, and asynchronous debug lines shown as they
// arrive), unixterm (a raw relay) and a one-shot mode for scripts, like
// unixcmd. It speaks to any console with vde_switch's framing (our switch,
// the real one, wirefilter).
package term

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"
)

// Conn is a console connection that reads responses and debug lines.
type Conn struct {
	c     net.Conn
	resps chan Response
	// Debug receives asynchronous debug lines (`3xxx …`) as they arrive.
	Debug func(line string)
	once  sync.Once
	done  chan struct{}
}

// Response is one command's answer.
type Response struct {
	Data   []string // the data block's lines, if any
	Code   int      // 1000 success, 1xxx errors, 9999 end of session
	Text   string   // the result text ("Success", "Invalid argument")
	Banner string   // for the first response: what came before the prompt
}

// Err returns the response as an error, nil on success.
func (r Response) Err() error {
	if r.Code == 1000 {
		return nil
	}
	return fmt.Errorf("%d %s", r.Code, r.Text)
}

// ErrClosed is returned when the console closed the connection.
var ErrClosed = errors.New("console closed the connection")

// Dial connects to the console at path and reads its banner up to the
// first prompt.
func Dial(path string, timeout time.Duration) (*Conn, string, error) {
	c, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		return nil, "", err
	}
	t := &Conn{c: c, resps: make(chan Response, 4), done: make(chan struct{})}
	first := make(chan string, 1)
	go t.read(first)
	select {
	case b := <-first:
		return t, b, nil
	case <-time.After(timeout):
		c.Close()
		return nil, "", fmt.Errorf("%s: no prompt within %v", path, timeout)
	case <-t.done:
		return nil, "", ErrClosed
	}
}

// Close ends the connection.
func (t *Conn) Close() error { return t.c.Close() }

// Done is closed when the connection ends.
func (t *Conn) Done() <-chan struct{} { return t.done }

// read parses the byte stream: debug lines go to Debug, everything else is
// collected into responses, each ended by the prompt.
func (t *Conn) read(first chan<- string) {
	defer t.once.Do(func() { close(t.done) })
	r := bufio.NewReader(t.c)
	var cur Response
	var banner strings.Builder
	inData, gotBanner := false, false
	var line strings.Builder
	for {
		b, err := r.ReadByte()
		if err != nil {
			if line.Len() > 0 && strings.HasPrefix(line.String(), "9999") {
				cur.Code, cur.Text = 9999, strings.TrimSpace(line.String()[4:])
				t.resps <- cur
			}
			return
		}
		if b != '\n' {
			line.WriteByte(b)
			// the prompt has no newline: "vde$ "
			if s := line.String(); !inData && isPrompt(s) {
				if !gotBanner {
					gotBanner = true
					first <- banner.String()
				} else {
					t.resps <- cur
				}
				cur = Response{}
				line.Reset()
			}
			continue
		}
		s := line.String()
		line.Reset()
		switch {
		case !gotBanner:
			banner.WriteString(s + "\n")
		case inData && s == ".":
			inData = false
		case inData:
			cur.Data = append(cur.Data, s)
		case len(s) >= 5 && s[0] == '3' && isDigits(s[1:4]) && s[4] == ' ':
			if t.Debug != nil {
				t.Debug(s)
			}
		case strings.HasPrefix(s, "0000 "):
			inData = true
		case len(s) >= 5 && s[0] == '1' && isDigits(s[1:4]):
			cur.Code = atoi(s[:4])
			cur.Text = strings.TrimSpace(s[4:])
		}
	}
}

// isPrompt recognizes a console prompt: one word ending in "$ " ("vde$ ").
func isPrompt(s string) bool {
	return strings.HasSuffix(s, "$ ") && !strings.ContainsAny(s[:len(s)-2], " \t")
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// Do sends one command (without a newline, as vdeterm does) and waits for
// its response.
func (t *Conn) Do(cmd string, timeout time.Duration) (Response, error) {
	if _, err := io.WriteString(t.c, cmd); err != nil {
		return Response{}, err
	}
	select {
	case r := <-t.resps:
		return r, nil
	case <-t.done:
		select {
		case r := <-t.resps:
			return r, nil
		default:
		}
		return Response{}, ErrClosed
	case <-time.After(timeout):
		return Response{}, fmt.Errorf("%s: no answer within %v", cmd, timeout)
	}
}

// Commands returns the command paths the console's help lists, for
// completion.
func (t *Conn) Commands() ([]string, error) {
	r, err := t.Do("help", 5*time.Second)
	if err != nil {
		return nil, err
	}
	var out []string
	past := false
	for _, l := range r.Data {
		if strings.HasPrefix(l, "------------") {
			past = true
			continue
		}
		if f := strings.Fields(l); past && len(f) > 0 {
			out = append(out, f[0])
		}
	}
	return out, nil
}
