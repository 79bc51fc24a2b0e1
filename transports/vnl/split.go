package vnl

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"strings"
)

// DefaultModule is the module of a VNL without "://".
const DefaultModule = "vde"

// Per-user default network files, relative to $HOME, tried in this order
// for the empty VNL.
const (
	DefaultFile    = ".vdeplug/default"
	OldDefaultFile = ".vde2/default.switch"
)

// maxLine is what the C library's fgets into a PATH_MAX buffer reads of a
// VNL file's first line.
const maxLine = 4096 - 1

// Split turns a VNL into the module name and the module's argument, as
// vdeplug4's vde_open_real does (spec §1.1):
//
//   - If the VNL contains "://", the module is the text before its first
//     occurrence (anywhere, so vlan://3{vde:///x} is module vlan) and the
//     argument the text after it.
//   - Otherwise an empty VNL is replaced by $HOME/.vdeplug/default or else
//     $HOME/.vde2/default.switch, the first that exists (lstat; $HOME unset
//     means neither). Then, if the (possibly replaced) VNL names a regular
//     file (stat, following symlinks), the file's first line becomes the VNL
//     and is checked once more for "://" (not for being a file again). As
//     in C, the last byte of the line is chopped whatever it is (normally
//     the newline; a last line without one loses its final character), the
//     line is cut at a NUL byte and at 4095 bytes, and an empty or
//     unreadable file leaves the VNL as the file's path.
//   - Anything else (a directory, a missing path, "") is the argument of the
//     default module "vde": /tmp/sw[3] means vde:///tmp/sw[3].
//
// err is not nil only when reading an existing VNL file fails after it was
// opened (the C library silently goes on with the path).
func Split(vnl string) (module, arg string, err error) {
	if m, a, ok := strings.Cut(vnl, "://"); ok {
		return m, a, nil
	}
	if vnl == "" {
		if home, ok := os.LookupEnv("HOME"); ok {
			for _, f := range []string{DefaultFile, OldDefaultFile} {
				p := home + "/" + f
				if _, err := os.Lstat(p); err == nil {
					vnl = p
					break
				}
			}
		}
	}
	if fi, statErr := os.Stat(vnl); statErr == nil && fi.Mode().IsRegular() {
		line, ok, err := firstLine(vnl)
		if err != nil {
			return "", "", err
		}
		if ok {
			vnl = line
		}
		if m, a, ok := strings.Cut(vnl, "://"); ok {
			return m, a, nil
		}
	}
	return DefaultModule, vnl, nil
}

// firstLine reads a VNL file's first line the way the C library does
// (fgets into a PATH_MAX buffer, then the last byte chopped). ok is false
// when the file cannot be opened or is empty.
func firstLine(path string) (line string, ok bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", false, nil // fopen failed: C keeps the path
	}
	defer f.Close()
	r := bufio.NewReaderSize(io.LimitReader(f, maxLine), maxLine)
	b, err := r.ReadSlice('\n')
	switch {
	case err == io.EOF || err == bufio.ErrBufferFull:
		err = nil
	case err != nil:
		return "", false, err
	}
	if len(b) == 0 {
		return "", false, nil
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	if len(b) > 0 {
		b = b[:len(b)-1]
	}
	return string(b), true, nil
}
