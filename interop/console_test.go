package interop

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// consoleClient speaks to a management socket the way vdeterm does: one
// command per write, without a newline, then read up to the prompt.
type consoleClient struct {
	c net.Conn
	r *bufio.Reader
}

func dialConsole(t *testing.T, path string) (*consoleClient, string) {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cc := &consoleClient{c: c, r: bufio.NewReader(c)}
	return cc, cc.readPrompt(t)
}

func (cc *consoleClient) readPrompt(t *testing.T) string {
	t.Helper()
	cc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var out bytes.Buffer
	for !bytes.HasSuffix(out.Bytes(), []byte("\nvde$ ")) {
		b, err := cc.r.ReadByte()
		if err != nil {
			if err == io.EOF {
				break
			}
			t.Fatalf("console read: %v after %q", err, out.String())
		}
		out.WriteByte(b)
	}
	return out.String()
}

// drain returns what arrives (asynchronous debug lines) within d.
func (cc *consoleClient) drain(d time.Duration) string {
	cc.c.SetReadDeadline(time.Now().Add(d))
	var out bytes.Buffer
	io.Copy(&out, cc.r)
	return out.String()
}

func (cc *consoleClient) cmd(t *testing.T, line string) string {
	t.Helper()
	if _, err := cc.c.Write([]byte(line)); err != nil {
		t.Fatal(err)
	}
	return cc.readPrompt(t)
}

// normalize masks what legitimately differs between two runs: pids,
// uptimes, ages, paths and endpoint ids (file descriptor numbers).
func normalize(s string, paths map[string]string) string {
	for p, name := range paths {
		s = strings.ReplaceAll(s, p, name)
	}
	for _, r := range []struct{ re, with string }{
		{`pid \d+`, "pid N"}, {`pid=\d+`, "pid=N"}, {`uptime \d+`, "uptime N"},
		{`age \d+`, "age N"}, {`endpoint ID \d{4}`, "endpoint ID NNNN"}, {`FD +\d+`, "FD N"},
	} {
		s = regexp.MustCompile(r.re).ReplaceAllString(s, r.with)
	}
	return s
}

// fixReal applies to the real switch's output the upstream bugs govde
// fixes on purpose (COMPATIBILITY.md): hash/find prints port+1, tagged
// ports print role=Unknown in fstp/print, vlan/delport's help repeats
// addport's text.
func fixReal(cmd, out string) string {
	out = strings.ReplaceAll(out, "vlan/delport       N PORT          add port to the vlan N (tagged)",
		"vlan/delport       N PORT          delete port from the vlan N (tagged)")
	if strings.HasPrefix(cmd, "hash/find") {
		out = regexp.MustCompile(`to port: (\d{3})`).ReplaceAllStringFunc(out, func(m string) string {
			n, _ := strconv.Atoi(m[len(m)-3:])
			return fmt.Sprintf("to port: %03d", n-1)
		})
	}
	if strings.HasPrefix(cmd, "fstp/print") {
		out = regexp.MustCompile(`(tagged=1 portcost=\d+) role=Unknown`).ReplaceAllString(out, "$1 role=Designated")
	}
	return out
}

// consoleScript is the scripted session: console commands, and "!send N
// ..." steps that make plug N send frames.
var consoleScript = []string{
	"help", "help port", "helpport", "showinfoXYZ", "port/showinfo", "hash/showinfo", "ds/showinfo",
	"fstp/showinfo", "debug/list", "plugin/list", "vlan/print", "vlan/allprint 0", "foo", "# a comment",
	"vlan/create 10", "vlan/create 20", "vlan/create 10", "vlan/create 5000", "port/setvlan 2 10",
	"port/setvlan 3 20", "vlan/addport 10 4", "vlan/addport 20 4", "vlan/addport 99 4", "vlan/delport 10 2",
	"port/create 7", "port/create 7", "port/create 99", "port/allocatable 7 1", "port/setuser 7 root",
	"port/setgroup 7 nogroup", "port/setuser 7 zzznouser", "port/allprint 7", "port/print", "port/allprint",
	"vlan/print", "vlan/allprint", "vlan/print 10", "vlan/allprint 20", "vlan/print 30",
	"!send", "hash/print", "hash/find 02:00:00:00:00:01", "hash/find 2.0.0.0.0.2 10",
	"hash/find 02:00:00:00:00:01 10", "hash/find zz", "port/print 1", "port/print 9", "port/print 4",
	"port/resetcounter 1", "port/print 1", "port/resetcounter 99", "hash/setsize 100", "hash/showinfo",
	"hash/setgcint 3", "hash/setexpire 50", "hash/setminper 2", "hash/showinfo", "hash/print",
	"fstp/print", "fstp/setedge 10 2 1", "fstp/bonus 10 2 100", "fstp/print 10", "fstp/setedge 99 2 1",
	"fstp/setfstp 0", "port/remove 7", "port/remove 2", "port/remove 7", "vlan/remove 20",
	"port/epclose 5 1", "port/setnumports 2", "port/setnumports 0", "port/sethub 1", "port/showinfo",
	"vlan/print", "port/sethub 0", "debug/add port", "debug/list port", "debug/del port", "debug/del port",
	"debug/add nosuch", "port/createauto", "port/allprint", "debug/list zzz", "port/print 40",
	"vlan/allprint 4094", "load RCFILE", "load /nonexistent", "debug/add port", "debug/add hash",
	"!plug", "!async", "port/print 5", "!unplug", "!async", "debug/del", "vlan/remove 0", "logout",
}

// runConsoleScript drives one switch (ours or the real one) through the
// script with four real vde_plug clients attached, and returns each
// command's normalized output.
func runConsoleScript(t *testing.T, exe string) []string {
	vp := real(t, "vde_plug")
	tmp := t.TempDir()
	mgmt := filepath.Join(tmp, "mgmt")
	dir, _ := switchProc(t, exe, "-M", mgmt, "-n", "16", "--macaddr", "02:00:00:00:01:01", "--priority", "0x1000")
	var plugs []*plug
	for i := 1; i <= 4; i++ {
		plugs = append(plugs, startPlug(t, vp, "-D", fmt.Sprintf("plug%d", i), dir))
		waitPorts(t, dir, i)
	}
	waitFor(t, func() bool { _, err := net.Dial("unix", mgmt); return err == nil }, "mgmt socket")
	cc, banner := dialConsole(t, mgmt)
	rc := filepath.Join(tmp, "rc")
	os.WriteFile(rc, []byte("vlan/create 33\nlogout\n\nshutdown\nvlan/print 33\nload "+rc+"x\n"), 0644)
	paths := map[string]string{dir: "DIR", mgmt: "MGMT", rc: "RCFILE"}
	out := []string{normalize(banner, paths)}
	var extra *plug
	for _, line := range consoleScript {
		switch line {
		case "!plug":
			extra = startPlug(t, vp, "-D", "plug5", dir)
			waitPorts(t, dir, 5)
			extra.send(t, eth(bcast, mac(5), "hi"))
			continue
		case "!unplug":
			extra.stdin.Close()
			extra.Wait(t, 3*time.Second)
			continue
		case "!async":
			out = append(out, normalize(cc.drain(400*time.Millisecond), paths))
			continue
		}
		line = strings.ReplaceAll(line, "RCFILE", rc)
		if line == "!send" {
			for i, p := range plugs {
				p.send(t, eth(bcast, mac(byte(i+1)), "hello"))
				time.Sleep(5 * time.Millisecond)
			}
			plugs[3].send(t, append(append(append([]byte{}, bcast...), mac(4)...), 0x81, 0x00, 0x00, 0x0a, 0x08, 0x00, 'x'))
			plugs[1].send(t, eth(mac(4), mac(2), "to 4 in vlan 10"))
			time.Sleep(100 * time.Millisecond)
			continue
		}
		got := cc.cmd(t, line)
		if exe != bin("vde_switch") {
			got = fixReal(line, got)
		}
		out = append(out, normalize(got, paths))
	}
	return out
}

// TestConsoleMatchesReal runs the same 90-command session on the real
// vde_switch and on ours and compares the outputs byte for byte.
func TestConsoleMatchesReal(t *testing.T) {
	realOut := runConsoleScript(t, real(t, "vde_switch"))
	ourOut := runConsoleScript(t, bin("vde_switch"))
	if len(realOut) != len(ourOut) {
		t.Fatalf("%d outputs from the real switch, %d from ours", len(realOut), len(ourOut))
	}
	var cmds []string
	for _, c := range append([]string{"(banner)"}, consoleScript...) {
		if c == "!async" || !strings.HasPrefix(c, "!") {
			cmds = append(cmds, c)
		}
	}
	j := 0
	for i := range realOut {
		if realOut[i] != ourOut[i] {
			t.Errorf("command %q:\n--- real\n%s\n--- ours\n%s", cmds[j], realOut[i], ourOut[i])
		}
		j++
	}
}

// unixcmd (the real one-shot client) gets the same bytes from both.
func TestUnixcmdOnOurConsole(t *testing.T) {
	unixcmd := real(t, "unixcmd")
	for _, cmd := range []string{"port/showinfo", "hash/showinfo", "vlan/print", "help debug"} {
		var outs [2]string
		for i, exe := range []string{real(t, "vde_switch"), bin("vde_switch")} {
			mgmt := filepath.Join(t.TempDir(), "mgmt")
			switchProc(t, exe, "-M", mgmt)
			waitFor(t, func() bool { _, err := net.Dial("unix", mgmt); return err == nil }, "mgmt")
			out, _ := exec.Command(unixcmd, "-s", mgmt, "-f", "/etc/vde2/vdecmd", cmd).Output()
			outs[i] = string(out)
		}
		if outs[0] != outs[1] || !strings.Contains(outs[1], "\x00") {
			t.Fatalf("unixcmd %s:\nreal %q\nours %q", cmd, outs[0], outs[1])
		}
	}
}

// socat sending newline-terminated lines (one per write, paced) sees the
// same transcript from both switches; several lines in one write run as
// several commands on ours (a documented improvement).
func TestSocatOnOurConsole(t *testing.T) {
	socat := real(t, "socat")
	lines := []string{"port/showinfo", "vlan/create 12", "vlan/print", "bogus", "logout"}
	var outs [2]string
	for i, exe := range []string{real(t, "vde_switch"), bin("vde_switch")} {
		mgmt := filepath.Join(t.TempDir(), "mgmt")
		switchProc(t, exe, "-M", mgmt)
		waitFor(t, func() bool { _, err := net.Dial("unix", mgmt); return err == nil }, "mgmt")
		cmd := exec.Command(socat, "-", "UNIX-CONNECT:"+mgmt)
		in, _ := cmd.StdinPipe()
		var out bytes.Buffer
		cmd.Stdout = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			time.Sleep(150 * time.Millisecond)
			io.WriteString(in, l+"\n")
		}
		time.Sleep(300 * time.Millisecond)
		in.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			t.Fatal("socat did not end after logout")
		}
		outs[i] = out.String()
	}
	if outs[0] != outs[1] {
		t.Fatalf("socat transcript:\nreal %q\nours %q", outs[0], outs[1])
	}
	// several commands in one write
	mgmt := filepath.Join(t.TempDir(), "mgmt")
	switchProc(t, bin("vde_switch"), "-M", mgmt)
	waitFor(t, func() bool { _, err := net.Dial("unix", mgmt); return err == nil }, "mgmt")
	cc, _ := dialConsole(t, mgmt)
	first := cc.cmd(t, "port/showinfo\nhash/showinfo\n")
	second := cc.readPrompt(t)
	if !strings.Contains(first, "Numports=32") || !strings.Contains(second, "Hash size 128") {
		t.Fatalf("two commands in one write: %q / %q", first, second)
	}
}

// vdeterm, under a pseudo-terminal, shows the same transcript from both
// switches: commands sent without a newline, TAB completion from help.
func TestVdetermOnOurConsole(t *testing.T) {
	vdeterm, script := real(t, "vdeterm"), real(t, "script")
	var outs [2]string
	for i, exe := range []string{real(t, "vde_switch"), bin("vde_switch")} {
		mgmt := filepath.Join(t.TempDir(), "mgmt")
		switchProc(t, exe, "-M", mgmt)
		waitFor(t, func() bool { _, err := net.Dial("unix", mgmt); return err == nil }, "mgmt")
		cmd := exec.Command(script, "-qfc", vdeterm+" "+mgmt, "/dev/null")
		in, _ := cmd.StdinPipe()
		var out bytes.Buffer
		cmd.Stdout = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"port/showinfo\n", "hash/sh\t\n", "bogus\n", "logout\n"} {
			time.Sleep(300 * time.Millisecond)
			io.WriteString(in, k)
		}
		time.Sleep(300 * time.Millisecond)
		in.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		outs[i] = strings.ReplaceAll(out.String(), mgmt, "MGMT")
	}
	// vdeterm redraws its prompt (backspaces, blanks) depending on how the
	// console's bytes arrive: compare what remains on the screen.
	screen := func(s string) []string {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			if i := strings.LastIndex(l, "\b"); i >= 0 {
				l = l[i+1:]
			}
			l = strings.Trim(strings.ReplaceAll(l, "vde[MGMT]: ", ""), " \r\x00")
			if l != "" {
				out = append(out, l)
			}
		}
		return out
	}
	r, o := screen(outs[0]), screen(outs[1])
	if strings.Join(r, "|") != strings.Join(o, "|") || !strings.Contains(outs[1], "hash/showinfo") || !strings.Contains(outs[1], "Function not implemented") {
		t.Fatalf("vdeterm screens:\nreal %q\nours %q", r, o)
	}
}
