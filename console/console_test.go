package console

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func testRegistry() *Registry {
	r := &Registry{}
	r.Add(
		Command{Path: "help", Syntax: "[arg]", Help: "Help", Kind: WithFile, Run: func(c *Ctx, arg string) error { r.Help(c, arg); return nil }},
		Command{Path: "logout", Kind: Plain, Run: func(*Ctx, string) error { return ErrLogout }},
		Command{Path: "load", Kind: Plain, NeedsConn: true, Run: func(c *Ctx, arg string) error { return RunScript(r, c, arg) }},
		Command{Path: "port", Help: "PORT MENU", Kind: Menu},
		Command{Path: "port/print", Syntax: "[N]", Kind: WithFile, Run: func(c *Ctx, arg string) error {
			if arg == "bad" {
				return syscall.ENXIO
			}
			c.Printf("arg=[%s]", arg)
			return nil
		}},
		Command{Path: "port/set", Kind: Plain, Run: func(*Ctx, string) error { return syscall.EINVAL }},
	)
	return r
}

func exec1(r *Registry, line string) string {
	var out bytes.Buffer
	s := NewSession(r, &out, nil, nil)
	defer s.Close()
	s.Exec(line)
	return out.String()
}

func TestFraming(t *testing.T) {
	r := testRegistry()
	cases := map[string]string{
		"port/print 3":     "0000 DATA END WITH '.'\narg=[3]\n.\n1000 Success\n\nvde$ ",
		"port/printfoo":    "0000 DATA END WITH '.'\narg=[foo]\n.\n1000 Success\n\nvde$ ",
		"  port/print\t 7": "0000 DATA END WITH '.'\narg=[7]\n.\n1000 Success\n\nvde$ ",
		"port/print bad":   "0000 DATA END WITH '.'\n.\n1006 No such device or address\n\nvde$ ",
		"port/set x":       "1022 Invalid argument\n\nvde$ ",
		"port":             "1038 Function not implemented\n\nvde$ ",
		"bogus":            "1038 Function not implemented\n\nvde$ ",
		"":                 "\nvde$ ",
		"# comment":        "\nvde$ ",
		"logout":           EndOfSession,
		"\x00\xff\xfegarb": "1038 Function not implemented\n\nvde$ ",
		"helpport":         "0000 DATA END WITH '.'\nCOMMAND PATH       SYNTAX          HELP\n------------       --------------  ------------\nport               ============    PORT MENU\nport/print         [N]             \nport/set                           \n.\n1000 Success\n\nvde$ ",
	}
	for in, want := range cases {
		if got := exec1(r, in); got != want {
			t.Errorf("%q:\ngot  %q\nwant %q", in, got, want)
		}
	}
}

func TestLineSplitter(t *testing.T) {
	l := &lineSplitter{}
	texts := func(cs []command) []string {
		var out []string
		for _, c := range cs {
			if c.tooLong {
				out = append(out, "<too long>")
			} else {
				out = append(out, c.text)
			}
		}
		return out
	}
	check := func(got []command, want ...string) {
		t.Helper()
		if g := strings.Join(texts(got), "|"); g != strings.Join(want, "|") {
			t.Fatalf("got %q want %q", g, strings.Join(want, "|"))
		}
	}
	check(l.feed([]byte("port/print"), false), "port/print") // vdeterm: no newline
	check(l.feed([]byte("a\nb\n"), false), "a", "b")         // socat, several in one write
	check(l.feed([]byte("a\nb"), false), "a", "b")           // last piece without newline
	check(l.feed([]byte("\n"), false), "")                   // empty line: a prompt
	check(l.feed([]byte("part"), true))                      // a full read waits for the rest
	check(l.feed([]byte("ial\n"), false), "partial")         //
	check(l.feed(bytes.Repeat([]byte("x"), MaxLine+1), false), "<too long>")
	check(l.feed([]byte("tail of the long line\nnext\n"), false), "next") // discarded up to its newline
}

func TestScriptLines(t *testing.T) {
	long := strings.Repeat("y", 200)
	var got []string
	scriptLines(strings.NewReader("a\n\nb c\n"+long+"\nlast"), func(l string) { got = append(got, l) })
	want := []string{"a", "\n", "b c", long[:127], long[127:], "last"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("%q", got)
	}
}

func TestLoad(t *testing.T) {
	r := testRegistry()
	path := filepath.Join(t.TempDir(), "rc")
	os.WriteFile(path, []byte("port/print 1\n\n# c\nbogus\nlogout\n"), 0644)
	got := exec1(r, "load "+path)
	want := "vde[" + path + "]: port/print 1\n0000 DATA END WITH '.'\narg=[1]\n.\n1000 Success\n" +
		"vde[" + path + "]: \n\n1038 Function not implemented\n" +
		"vde[" + path + "]: # c\n" +
		"vde[" + path + "]: bogus\n1038 Function not implemented\n" +
		"vde[" + path + "]: logout\n" +
		"1000 Success\n\nvde$ "
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if got := exec1(r, "load /nonexistent"); got != "1002 No such file or directory\n\nvde$ " {
		t.Fatalf("%q", got)
	}
	// from an rc file (no session) a NeedsConn command fails with EBADF
	os.WriteFile(path, []byte("load "+path+"\n"), 0644)
	var out bytes.Buffer
	if err := RunScript(r, &Ctx{Out: &out}, path); err != nil || out.String() != "1009 Bad file descriptor\n" {
		t.Fatalf("%v %q", err, out.String())
	}
}

func TestDebugHub(t *testing.T) {
	h := NewHub(Category{"port/+", 0o21, "new port"}, Category{"port/-", 0o22, "closed port"}, Category{"hash/+", 0o11, "hash"})
	var changes []int
	h.OnChange = func(a map[string]bool) { changes = append(changes, len(a)) }
	var out bytes.Buffer
	s := NewSession(&Registry{}, &out, nil, h)
	if err := h.Subscribe(s, "port", true); err != nil {
		t.Fatal(err)
	}
	if err := h.Subscribe(s, "port", true); err != syscall.EEXIST {
		t.Fatalf("again: %v", err)
	}
	if err := h.Subscribe(s, "nosuch", true); err != syscall.EINVAL {
		t.Fatalf("nosuch: %v", err)
	}
	h.Publish("port/+", "01")
	h.Publish("hash/+", "not subscribed")
	deadline := time.Now().Add(2 * time.Second)
	for {
		s.mu.Lock()
		got := out.String()
		s.mu.Unlock()
		if got == "3021 port/+ 01\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("async output %q", got)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := h.Subscribe(s, "port/-", false); err != nil {
		t.Fatal(err)
	}
	if err := h.Subscribe(s, "port/-", false); err != syscall.ENOENT {
		t.Fatalf("del twice: %v", err)
	}
	s.Close()
	if len(changes) != 3 || changes[2] != 0 {
		t.Fatalf("changes %v", changes)
	}
}

// Bad input on a management connection: errors, not a dead server.
func TestServerBadInput(t *testing.T) {
	r := testRegistry()
	path := filepath.Join(t.TempDir(), "mgmt")
	srv, err := Listen(path, 0600, -1, r, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	// a client that disconnects mid-command
	c, _ := net.Dial("unix", path)
	c.Write([]byte("port/pr"))
	c.Close()
	// garbage, a 10 KB line, then a good command on one connection
	c, err = net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	read := func() string {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		var b bytes.Buffer
		buf := make([]byte, 4096)
		for !strings.HasSuffix(b.String(), "vde$ ") {
			n, err := c.Read(buf)
			if err != nil {
				break
			}
			b.Write(buf[:n])
		}
		return b.String()
	}
	if got := read(); got != Banner+Prompt {
		t.Fatalf("banner %q", got)
	}
	c.Write([]byte{0, 1, 2, 0xff, '\n'})
	if got := read(); got != "1038 Function not implemented\n\nvde$ " {
		t.Fatalf("garbage: %q", got)
	}
	c.Write([]byte("port/print " + strings.Repeat("z", 10<<10) + "\n"))
	if got := read(); !strings.HasSuffix(got, "1000 Success\n\nvde$ ") {
		t.Fatalf("10 KB line: %q", got[len(got)-40:])
	}
	c.Write([]byte("port/print 5"))
	if got := read(); got != "0000 DATA END WITH '.'\narg=[5]\n.\n1000 Success\n\nvde$ " {
		t.Fatalf("after bad input: %q", got)
	}
	// a second server on the same live path refuses
	if _, err := Listen(path, 0600, -1, r, nil, nil); err != ErrInUse {
		t.Fatalf("second listen: %v", err)
	}
}

func FuzzConsoleLine(f *testing.F) {
	for _, s := range []string{"help", "port/print 3", "", "#", "load /x", "logout", "\x00\xff", "port/set 1 2 3"} {
		f.Add(s)
	}
	r := testRegistry()
	f.Fuzz(func(t *testing.T, line string) {
		if strings.HasPrefix(strings.TrimLeft(line, " \t"), "load") {
			return // would read files named by the fuzzer
		}
		out := exec1(r, line)
		if !strings.HasSuffix(out, Prompt) && out != EndOfSession {
			t.Fatalf("%q gave %q", line, out)
		}
		l := &lineSplitter{}
		for _, c := range l.feed([]byte(line), false) {
			if strings.Contains(c.text, "\n") {
				t.Fatalf("command with a newline: %q", c.text)
			}
		}
	})
}
