package vnl

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports"
)

// fakeEP is a minimal endpoint recording how it was opened.
type fakeEP struct {
	arg string
	a   Args
}

func (*fakeEP) ReadBatch(*frames.Batch) error  { return transports.ErrClosed }
func (*fakeEP) WriteBatch(*frames.Batch) error { return nil }
func (*fakeEP) Close() error                   { return nil }
func (e *fakeEP) Describe() string             { return e.arg }

func fakeOpen(arg string, a Args) (transports.Endpoint, error) { return &fakeEP{arg, a}, nil }

// The registry is process-wide: register the test modules once.
func init() {
	Register("vde", fakeOpen) // the default module
	Register("test", fakeOpen)
	Register("testnest", func(arg string, a Args) (transports.Endpoint, error) {
		_, nested, err := ParseNested(arg)
		if err != nil {
			return nil, err
		}
		return Open(nested, a)
	})
	Register("testfail", func(arg string, a Args) (transports.Endpoint, error) {
		_, _, _, err := ParseBracket(arg, []string{"port"}, false)
		if err != nil {
			return nil, err
		}
		return nil, syscall.ENOENT
	})
}

func TestOpen(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	tests := []struct{ vnl, module, arg string }{
		{"test://a[b]", "test", "a[b]"},
		{"/tmp/sw[3]", "vde", "/tmp/sw[3]"},
		{"", "vde", ""},
		{"vde:///tmp/vt/s%77[po=6/mode=0660]", "vde", "/tmp/vt/s%77[po=6/mode=0660]"},
	}
	for _, tt := range tests {
		ep, err := Open(tt.vnl, Args{Port: 5, Group: "g", Mode: 0o660, Descr: "vde_plug:", MaxFrame: 9236})
		if err != nil {
			t.Fatalf("Open(%q): %v", tt.vnl, err)
		}
		f := ep.(*fakeEP)
		if f.arg != tt.arg {
			t.Errorf("Open(%q) gave the module %q, want %q", tt.vnl, f.arg, tt.arg)
		}
		if f.a.Port != 5 || f.a.Group != "g" || f.a.Mode != 0o660 || f.a.MaxFrame != 9236 {
			t.Errorf("Args not passed on: %+v", f.a)
		}
		if !strings.HasPrefix(f.a.Descr, "vde_plug: user=") || !strings.Contains(f.a.Descr, " pid="+strconv.Itoa(os.Getpid())) {
			t.Errorf("Descr %q", f.a.Descr)
		}
	}
}

func TestOpenUnknownModule(t *testing.T) {
	_, err := Open("nosuch://x", Args{})
	if !errors.Is(err, syscall.EPROTONOSUPPORT) {
		t.Fatalf("err %v does not wrap EPROTONOSUPPORT", err)
	}
	var me *ModuleError
	if !errors.As(err, &me) || me.Module != "nosuch" {
		t.Fatalf("err %#v", err)
	}
	if got := fmt.Sprintf("vde_open %s: %v", "nosuch://x", err); got != "vde_open nosuch://x: Protocol not supported" {
		t.Fatalf("message %q", got)
	}
	// A VNL file naming an unknown module.
	f := filepath.Join(t.TempDir(), "vnl")
	os.WriteFile(f, []byte("nosuch2://y\n"), 0o644)
	if _, err := Open(f, Args{}); !errors.As(err, &me) || me.Module != "nosuch2" {
		t.Fatalf("err %v", err)
	}
}

func TestOpenModuleErrors(t *testing.T) {
	_, err := Open("testfail:///x[foo=1]", Args{})
	checkKeyError(t, err, "foo")
	if _, err := Open("testfail:///x", Args{}); err != syscall.ENOENT {
		t.Fatalf("err %v", err)
	}
}

func TestOpenNestedDescribesOnce(t *testing.T) {
	ep, err := Open("testnest://3{testnest://4{test://inner}}", Args{Descr: "d"})
	if err != nil {
		t.Fatal(err)
	}
	f := ep.(*fakeEP)
	if f.arg != "inner" || strings.Count(f.a.Descr, "user=") != 1 {
		t.Fatalf("arg %q descr %q", f.arg, f.a.Descr)
	}
}

func TestDescription(t *testing.T) {
	t.Setenv("SSH_CLIENT", "192.0.2.7 51234 22")
	d := Description("vdeplug:")
	pid := " pid=" + strconv.Itoa(os.Getpid())
	if !strings.HasPrefix(d, "vdeplug: user=") || !strings.HasSuffix(d, pid+" SSH=192.0.2.7") {
		t.Fatalf("Description %q", d)
	}
	os.Unsetenv("SSH_CLIENT")
	if d := Description(""); !strings.HasPrefix(d, " user=") || !strings.HasSuffix(d, pid) {
		t.Fatalf("Description %q", d)
	}
	if d := Description(strings.Repeat("x", 200)); len(d) != MaxDescr {
		t.Fatalf("long description is %d bytes", len(d))
	}
}

func TestRegister(t *testing.T) {
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s did not panic", name)
			}
		}()
		f()
	}
	mustPanic("duplicate", func() { Register("test", fakeOpen) })
	mustPanic("empty name", func() { Register("", fakeOpen) })
	mustPanic("name with ://", func() { Register("a://b", fakeOpen) })
	mustPanic("nil opener", func() { Register("testnil", nil) })
	if slices.Contains(Modules(), "testnil") {
		t.Error("a failed Register left a module behind")
	}
	Register("testreg", fakeOpen)
	m := Modules()
	if !slices.IsSorted(m) || !slices.Contains(m, "testreg") || !slices.Contains(m, "vde") {
		t.Fatalf("Modules() = %v", m)
	}
}
