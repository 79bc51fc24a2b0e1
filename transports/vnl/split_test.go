package vnl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSplit(t *testing.T) {
	t.Setenv("HOME", t.TempDir()) // no default files
	dir := t.TempDir()
	file := write(t, filepath.Join(dir, "vnlfile"), "vde:///tmp/vt/s1\nnull://\n")
	bare := write(t, filepath.Join(dir, "bare"), "/tmp/vt/s1\n")
	noNL := write(t, filepath.Join(dir, "nonl"), "null://")
	empty := write(t, filepath.Join(dir, "empty"), "")
	onlyNL := write(t, filepath.Join(dir, "onlynl"), "\n")
	chain := write(t, filepath.Join(dir, "chain"), file+"\n") // not followed twice
	nul := write(t, filepath.Join(dir, "nul"), "null://a\x00b\n")
	long := write(t, filepath.Join(dir, "long"), "null://"+strings.Repeat("x", 5000)+"\n")
	link := filepath.Join(dir, "link")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}

	tests := []struct{ vnl, module, arg string }{
		{"vde:///tmp/vt/s%77[po=6/mode=0660]", "vde", "/tmp/vt/s%77[po=6/mode=0660]"},
		{`vde:///tmp/vt/'s'w["7"]`, "vde", `/tmp/vt/'s'w["7"]`},
		{"vde:///x[foo=1]", "vde", "/x[foo=1]"},
		{"nosuch://x", "nosuch", "x"},
		{"vlan://3{vde:///x}", "vlan", "3{vde:///x}"},
		{"vlan://4{vlan://5/qinq{vxvde://234.1.2.3}}", "vlan", "4{vlan://5/qinq{vxvde://234.1.2.3}}"},
		{"null://", "null", ""},
		{"://x", "", "x"},
		{"a:/b", "vde", "a:/b"},
		{"/tmp/sw[3]", "vde", "/tmp/sw[3]"}, // a bare path is vde://
		{"/nonexistent/govde/sw", "vde", "/nonexistent/govde/sw"},
		{dir, "vde", dir}, // a directory is a switch
		{file, "vde", "/tmp/vt/s1"},
		{link, "vde", "/tmp/vt/s1"}, // stat follows links
		{bare, "vde", "/tmp/vt/s1"},
		{noNL, "vde", "null:/"}, // the last byte is always chopped
		{empty, "vde", empty},   // nothing read: the path stays
		{onlyNL, "vde", ""},
		{chain, "vde", file}, // the line is not looked up as a file again
		{nul, "null", ""},    // C strlen stops at the NUL, then chops "a"
		{long, "null", strings.Repeat("x", 4095-len("null://")-1)},
		{"", "vde", ""},
	}
	for _, tt := range tests {
		module, arg, err := Split(tt.vnl)
		if err != nil || module != tt.module || arg != tt.arg {
			t.Errorf("Split(%q) = %q, %q, %v; want %q, %q", tt.vnl, module, arg, err, tt.module, tt.arg)
		}
	}
}

func TestSplitDefaultNetwork(t *testing.T) {
	target := write(t, filepath.Join(t.TempDir(), "net"), "vde:///tmp/vt/s1\n")
	swdir := t.TempDir()
	tests := []struct {
		name   string
		setup  func(home string)
		module string
		arg    func(home string) string
	}{
		{"no default files", func(string) {}, "vde", func(string) string { return "" }},
		{"vdeplug default symlink to a VNL file", func(h string) {
			os.MkdirAll(filepath.Join(h, ".vdeplug"), 0o755)
			os.Symlink(target, filepath.Join(h, DefaultFile))
		}, "vde", func(string) string { return "/tmp/vt/s1" }},
		{"vdeplug default regular file", func(h string) {
			write(t, filepath.Join(h, DefaultFile), "null://\n")
		}, "null", func(string) string { return "" }},
		{"vde2 default.switch symlink to a switch directory", func(h string) {
			os.MkdirAll(filepath.Join(h, ".vde2"), 0o755)
			os.Symlink(swdir, filepath.Join(h, OldDefaultFile))
		}, "vde", func(h string) string { return h + "/" + OldDefaultFile }},
		{"vdeplug default wins over vde2", func(h string) {
			write(t, filepath.Join(h, DefaultFile), "null://a\n")
			write(t, filepath.Join(h, OldDefaultFile), "null://b\n")
		}, "null", func(string) string { return "a" }},
		{"dangling symlink exists for lstat", func(h string) {
			os.MkdirAll(filepath.Join(h, ".vdeplug"), 0o755)
			os.Symlink(filepath.Join(h, "missing"), filepath.Join(h, DefaultFile))
			write(t, filepath.Join(h, OldDefaultFile), "null://b\n")
		}, "vde", func(h string) string { return h + "/" + DefaultFile }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			t.Setenv("HOME", home)
			tt.setup(home)
			module, arg, err := Split("")
			if err != nil || module != tt.module || arg != tt.arg(home) {
				t.Fatalf("Split(\"\") = %q, %q, %v; want %q, %q", module, arg, err, tt.module, tt.arg(home))
			}
		})
	}
}

func TestSplitHomeUnset(t *testing.T) {
	t.Setenv("HOME", "")
	os.Unsetenv("HOME")
	if module, arg, err := Split(""); module != "vde" || arg != "" || err != nil {
		t.Fatalf("Split(\"\") = %q, %q, %v", module, arg, err)
	}
}
