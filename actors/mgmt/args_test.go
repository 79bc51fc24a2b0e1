package mgmt

import (
	"syscall"
	"testing"
)

func TestArgs(t *testing.T) {
	for in, want := range map[string]int{"12": 12, "  -3x": -3, "zz": 0, "": 0, "0x10": 0, "017": 17} {
		if got := atoi(in); got != want {
			t.Errorf("atoi(%q) = %d, want %d", in, got, want)
		}
	}
	v, ok := scanInts(" 0x10 010 7 ", 3)
	if !ok || v[0] != 16 || v[1] != 8 || v[2] != 7 {
		t.Fatalf("%v %v", v, ok)
	}
	if _, ok := scanInts("5", 2); ok {
		t.Fatal("one field accepted for two")
	}
	if n, w, ok := scanIntWord("7 nogroup extra"); !ok || n != 7 || w != "nogroup" {
		t.Fatal(n, w, ok)
	}
	if id, err := parseID("root", false); err != nil || id != 0 {
		t.Fatal(id, err)
	}
	if id, err := parseID("NONE", true); err != nil || id != -1 {
		t.Fatal(id, err)
	}
	if id, err := parseID("1234", false); err != nil || id != 1234 {
		t.Fatal(id, err)
	}
	if _, err := parseID("zzznouser", false); err != syscall.EINVAL {
		t.Fatal(err)
	}
	if idName(-1, false) != "NONE" || idName(0, false) != "root" || idName(987654, true) != "987654" {
		t.Fatal("idName")
	}
}
