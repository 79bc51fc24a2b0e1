package term

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/govde/govde/console"
)

func server(t *testing.T) (string, *console.Hub) {
	reg := &console.Registry{}
	hub := console.NewHub(console.Category{Path: "x/event", Tag: 0o101, Help: "an event"})
	reg.Add(
		console.Command{Path: "help", Kind: console.WithFile, Run: func(c *console.Ctx, a string) error { reg.Help(c, a); return nil }},
		console.Command{Path: "logout", Kind: console.Plain, Run: func(*console.Ctx, string) error { return console.ErrLogout }},
		console.Command{Path: "port", Kind: console.Menu, Help: "PORT"},
		console.Command{Path: "port/print", Kind: console.WithFile, Run: func(c *console.Ctx, a string) error { c.Printf("Port 0001 $ "); c.Printf("line two"); return nil }},
		console.Command{Path: "port/bad", Kind: console.Plain, Run: func(*console.Ctx, string) error { return syscall.ENXIO }},
		console.Command{Path: "debug/add", Kind: console.Plain, Run: func(c *console.Ctx, a string) error { return hub.Subscribe(c.Session, a, true) }},
	)
	path := filepath.Join(t.TempDir(), "mgmt")
	srv, err := console.Listen(path, 0600, -1, reg, hub, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return path, hub
}

func TestDoAndCommands(t *testing.T) {
	path, hub := server(t)
	c, banner, err := Dial(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if banner != console.Banner+"\n" {
		t.Fatalf("banner %q", banner)
	}
	var mu sync.Mutex
	var dbg []string
	c.Debug = func(l string) { mu.Lock(); dbg = append(dbg, l); mu.Unlock() }
	cmds, err := c.Commands()
	if err != nil || strings.Join(cmds, " ") != "help logout port port/print port/bad debug/add" {
		t.Fatalf("%v %v", cmds, err)
	}
	r, err := c.Do("port/print", time.Second)
	if err != nil || r.Code != 1000 || len(r.Data) != 2 || r.Data[0] != "Port 0001 $ " {
		t.Fatalf("%+v %v", r, err)
	}
	if r, _ := c.Do("port/bad", time.Second); r.Code != 1006 || r.Err() == nil {
		t.Fatalf("%+v", r)
	}
	if r, _ := c.Do("debug/add x", time.Second); r.Code != 1000 {
		t.Fatalf("%+v", r)
	}
	hub.Publish("x/event", "hello")
	deadline := time.Now().Add(2 * time.Second)
	for {
		mu.Lock()
		n := len(dbg)
		mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no debug line")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if dbg[0] != "3101 x/event hello" {
		t.Fatalf("%q", dbg)
	}
	if r, _ := c.Do("logout", time.Second); r.Code != 9999 {
		t.Fatalf("%+v", r)
	}
}

func TestOneShot(t *testing.T) {
	path, _ := server(t)
	var out bytes.Buffer
	if err := OneShot(path, []string{"port/print"}, &out); err != nil || out.String() != "Port 0001 $ \nline two\n" {
		t.Fatalf("%v %q", err, out.String())
	}
	if err := OneShot(path, []string{"port/bad"}, &out); err == nil || !strings.Contains(err.Error(), "No such device or address") {
		t.Fatalf("%v", err)
	}
}

func TestRelay(t *testing.T) {
	path, _ := server(t)
	pr, pw := io.Pipe()
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- Relay(path, pr, &out) }()
	pw.Write([]byte("port/bad\n"))
	time.Sleep(100 * time.Millisecond)
	pw.Write([]byte("logout\n"))
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("relay did not end after logout")
	}
	want := console.Banner + "\nvde$ 1006 No such device or address\n\nvde$ 9999 END OF SESSION"
	if out.String() != want {
		t.Fatalf("%q", out.String())
	}
}

func TestCompleter(t *testing.T) {
	c := completer{"hash", "hash/showinfo", "hash/setsize", "help", "port", "port/print"}
	got, n := c.Do([]rune("hash/sh"), 7)
	if n != 7 || len(got) != 1 || string(got[0]) != "owinfo " {
		t.Fatalf("%q %d", got, n)
	}
	if got, _ := c.Do([]rune("h"), 1); len(got) != 3 { // not the menu "hash"
		t.Fatalf("%q", got)
	}
	if got, _ := c.Do([]rune("port/print 3"), 12); got != nil {
		t.Fatalf("argument completed: %q", got)
	}
}
