package dpipe

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "prog")
	noexec := filepath.Join(dir, "data")
	for name, mode := range map[string]os.FileMode{exe: 0o755, noexec: 0o644} {
		if err := os.WriteFile(name, nil, mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)

	t.Setenv("PATH", "/nonexistent:"+dir)
	if p, err := lookPath("prog"); err != nil || p != exe {
		t.Errorf("lookPath(prog) = %q, %v; want %q", p, err, exe)
	}
	for _, name := range []string{"data", "sub", "", "govde-no-such-command"} {
		if p, err := lookPath(name); !errors.Is(err, syscall.ENOENT) {
			t.Errorf("lookPath(%q) = %q, %v; want ENOENT", name, p, err)
		}
	}
	if p, err := lookPath("./anything/x"); err != nil || p != "./anything/x" {
		t.Errorf("names with a slash are used as they are: %q, %v", p, err)
	}
	// An empty PATH entry is the current directory (os/exec would refuse it).
	t.Setenv("PATH", "/nonexistent:")
	if p, err := lookPath("prog"); err != nil || p != "./prog" {
		t.Errorf("lookPath(prog) with empty entry = %q, %v; want ./prog", p, err)
	}
	// An unset PATH is /bin:/usr/bin, as for execvp.
	os.Unsetenv("PATH")
	if p, err := lookPath("sh"); err != nil || (p != "/bin/sh" && p != "/usr/bin/sh") {
		t.Errorf("lookPath(sh) with PATH unset = %q, %v", p, err)
	}
}

func TestStrerror(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{syscall.EMFILE, "Too many open files"},
		{&os.PathError{Op: "fork/exec", Path: "/x", Err: syscall.ENOENT}, "No such file or directory"},
		{fmt.Errorf("plain"), "plain"},
	} {
		if got := strerror(tt.err); got != tt.want {
			t.Errorf("strerror(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
