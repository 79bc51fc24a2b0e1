package interop

import (
	"bytes"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Our vdeterm, under a pseudo-terminal, against the real switch and ours:
// commands, TAB completion from the console's help, error text, logout.
// Our one-shot mode prints a command's data for scripts.
func TestOurVdeterm(t *testing.T) {
	script := real(t, "script")
	os.Symlink("vde", bin("vdeterm"))
	for _, exe := range []string{real(t, "vde_switch"), bin("vde_switch")} {
		mgmt := filepath.Join(t.TempDir(), "mgmt")
		switchProc(t, exe, "-M", mgmt)
		waitFor(t, func() bool {
			c, err := net.Dial("unix", mgmt)
			if err == nil {
				c.Close()
			}
			return err == nil
		}, "mgmt")
		cmd := exec.Command(script, "-qfc", "stty cols 120 rows 40; "+bin("vdeterm")+" "+mgmt, "/dev/null") // a pty of size 0x0 would turn completion off
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
		in, _ := cmd.StdinPipe()
		var out bytes.Buffer
		cmd.Stdout = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"port/showinfo\r", "hash/sh\t\r", "bogus\r", "logout\r"} {
			time.Sleep(300 * time.Millisecond)
			io.WriteString(in, k)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatalf("vdeterm did not exit on logout: %q", out.String())
		}
		in.Close()
		s := out.String()
		for _, want := range []string{"vde[" + mgmt + "]: ", "Numports=32", "Success", "hash/showinfo", "Hash size 128", "Function not implemented"} {
			if !strings.Contains(s, want) {
				t.Fatalf("%s: transcript lacks %q:\n%q", exe, want, s)
			}
		}
		one, err := exec.Command(bin("vdeterm"), "-c", "port/showinfo", "-c", "hash/showinfo", mgmt).Output()
		if err != nil || string(one) != "Numports=32\nHUB=false\ncounters=true\nHash size 128\nGC interval 2 secs\nGC expire 100 secs\nMin persistence 3 secs\n" {
			t.Fatalf("one-shot on %s: %v %q", exe, err, one)
		}
		if err := exec.Command(bin("vdeterm"), "-c", "vlan/print 77", mgmt).Run(); err == nil {
			t.Fatalf("one-shot error on %s exited 0", exe)
		}
	}
}
