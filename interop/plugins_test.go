package interop

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pcapFrames returns the frames of a pcap file.
func pcapFrames(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 24 || binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 || binary.LittleEndian.Uint32(b[20:]) != 1 {
		t.Fatalf("%s: not an Ethernet pcap (%v)", path, err)
	}
	var out [][]byte
	for b = b[24:]; len(b) >= 16; {
		n := int(binary.LittleEndian.Uint32(b[8:]))
		out = append(out, b[16:16+n])
		b = b[16+n:]
	}
	return out
}

// The built-in dump, pdump and iplog plugins behave like the real
// switch's: same commands, help, categories, debug lines, iplog tables, and
// the same frames in the capture file.
func TestPluginsMatchReal(t *testing.T) {
	run := func(exe string) ([]string, [][]byte) {
		tmp := t.TempDir()
		dir, cc := managed(t, exe)
		paths := map[string]string{dir: "DIR", tmp: "TMP"}
		var out []string
		// (the real switch stops forwarding with other orders of these
		// commands, or with ports active before the plugins were loaded)
		script := []string{
			"plugin/add /usr/lib/vde2/plugins/dump.so", "debug/add dump", "dump/active 1",
			"plugin/add /usr/lib/vde2/plugins/pdump.so", "pdump/filename " + tmp + "/x.cap", "pdump/active 1",
			"plugin/add /usr/lib/vde2/plugins/iplog.so", "iplog/logfile " + tmp + "/ip.log",
			"iplog/ipadd 10.0.0.0/8", "debug/add iplog", "plugin/add /usr/lib/vde2/plugins/dump.so", "plugin/list",
			"help dump", "help pdump", "help iplog", "debug/list", "iplog/ipadd 10.0.0.0/8", "iplog/ipadd zz",
			"iplog/list", "iplog/showinfo",
		}
		for _, c := range script {
			out = append(out, normalize(cc.cmd(t, c), paths))
		}
		a, b := attach(t, dir, 1), attach(t, dir, 2)
		ip := []byte{0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 1, 2, 3, 10, 1, 2, 4, '1', '2', '3', '4', '5', '6', '7', '8'}
		f := append(append(append([]byte{}, bcast...), mac(5)...), 0x08, 0x00)
		a.send(t, append(f, ip...))
		if got := b.recv(3 * time.Second); string(got) != string(append(f, ip...)) {
			t.Fatalf("%s: b got % x\n%q", exe, got, out)
		}
		out = append(out, normalize(cc.drain(400*time.Millisecond), paths))
		for _, c := range []string{"iplog/iplist", "iplog/ipport 1", "iplog/ipsearch 10.1.2.3", "iplog/ipsearch 10.9.9.9",
			"pdump/active 0", "plugin/del dump", "plugin/del dump", "plugin/list", "dump/active 0"} {
			out = append(out, normalize(cc.cmd(t, c), paths))
		}
		log, _ := os.ReadFile(filepath.Join(tmp, "ip.log"))
		if !strings.Contains(string(log), "ipv4 10.1.2.3 mac=02:00:00:00:00:05 port=1 vlan=0 user=root") {
			t.Errorf("%s: ip.log %q", exe, log)
		}
		return out, pcapFrames(t, filepath.Join(tmp, "x.cap"))
	}
	realOut, realCap := run(real(t, "vde_switch"))
	ourOut, ourCap := run(bin("vde_switch"))
	for i := range realOut {
		if i >= len(ourOut) || realOut[i] != ourOut[i] {
			t.Errorf("step %d:\n--- real\n%s\n--- ours\n%s", i, realOut[i], ourOut[i])
		}
	}
	if len(realCap) != len(ourCap) || len(ourCap) != 2 {
		t.Fatalf("captures: real %d frames, ours %d", len(realCap), len(ourCap))
	}
	for i := range realCap {
		if string(realCap[i]) != string(ourCap[i]) {
			t.Fatalf("captured frame %d differs", i)
		}
	}
}
