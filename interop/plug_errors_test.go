package interop

import (
	"os/exec"
	"testing"
)

// Bad VNLs: our vde_plug prints what the real one prints and exits 1.
func TestPlugVNLErrorsMatchReal(t *testing.T) {
	vp := real(t, "vde_plug")
	for _, vnl := range []string{"vde:///tmp[foo=1]", "nosuch://x", "vde:///nonexistent/dir"} {
		var outs [2]string
		var codes [2]int
		for i, exe := range []string{vp, bin("vde_plug")} {
			out, err := exec.Command(exe, vnl).CombinedOutput()
			outs[i] = string(out)
			if ee, ok := err.(*exec.ExitError); ok {
				codes[i] = ee.ExitCode()
			}
		}
		if outs[0] != outs[1] || codes[0] != codes[1] || codes[1] != 1 {
			t.Errorf("%s:\nreal %d %q\nours %d %q", vnl, codes[0], outs[0], codes[1], outs[1])
		}
	}
}
