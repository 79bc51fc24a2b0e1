package interop

import (
	"bufio"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Several endpoints on one port (same user): frames to the port reach all
// of them, they never hear each other, port/print lists both (newest
// first); port/epclose ends one client (its vde_plug exits).
func TestSeveralEndpointsAndEpclose(t *testing.T) {
	dir, cc := managed(t, bin("vde_switch"))
	x := attach(t, dir, 1)
	e1 := startPlug(t, real(t, "vde_plug"), "-D", "first", dir+"[5]")
	waitPorts(t, dir, 2)
	e2 := startPlug(t, real(t, "vde_plug"), "-D", "second", dir+"[5]")
	waitPorts(t, dir, 3)
	f := eth(bcast, mac(1), "to both endpoints of port 5")
	x.send(t, f)
	e1.expect(t, "endpoint 1", f)
	e2.expect(t, "endpoint 2", f)
	g := eth(bcast, mac(2), "from one endpoint")
	e1.send(t, g)
	x.expect(t, "port 1", g)
	e2.quiet(t, "the other endpoint of the same port")
	out := cc.cmd(t, "port/print 5")
	ids := regexp.MustCompile(`endpoint ID (\d{4}) module unix prog   : (\w+)`).FindAllStringSubmatch(out, -1)
	if len(ids) != 2 || ids[0][2] != "second" || ids[1][2] != "first" {
		t.Fatalf("port/print 5: %q", out)
	}
	cc.must(t, "port/epclose 5 "+strings.TrimLeft(ids[1][1], "0"))
	if code := e1.Wait(t, 3*time.Second); code != 0 {
		t.Fatalf("closed client exit %d", code)
	}
	if out := cc.cmd(t, "port/epclose 5 9999"); !strings.Contains(out, "1006 No such device or address") {
		t.Fatalf("epclose of a missing endpoint: %q", out)
	}
	x.send(t, f)
	e2.expect(t, "remaining endpoint", f)
}

// The stdin console answers commands and exits on shutdown.
func TestStdinConsole(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sw")
	cmd := exec.Command(bin("vde_switch"), "-s", dir)
	in, _ := cmd.StdinPipe()
	outp, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	io.WriteString(in, "port/showinfo\nvlan/create 7\nvlan/print 7\nbogus\nlogout\nshutdown\n")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var lines []string
	sc := bufio.NewScanner(outp)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("shutdown on stdin did not exit")
	}
	got := strings.Join(lines, "|")
	want := "0000 DATA END WITH '.'|Numports=32|HUB=false|counters=true|.|1000 Success|1000 Success|0000 DATA END WITH '.'|VLAN 0007|.|1000 Success|1038 Function not implemented|9999 END OF SESSION"
	if got != want {
		t.Fatalf("stdin console:\n%s\nwant\n%s", got, want)
	}
}
