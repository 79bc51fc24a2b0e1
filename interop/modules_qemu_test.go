package interop

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A QEMU without libvdeplug joins our switch through our vde_plug: with
// -netdev stream (server=off: it connects to the plug, which listens) and
// with -netdev dgram over unix sockets. The QEMU here is a fake speaking
// the framing; a real vde_plug on the switch is the other party.
func TestModulesQEMUIntoOurSwitch(t *testing.T) {
	vp := real(t, "vde_plug")
	dir, _ := switchProc(t, bin("vde_switch"))
	other := startPlug(t, vp, dir)
	waitPorts(t, dir, 1)
	tmp := t.TempDir()

	// -netdev stream,server=off,addr.type=unix,addr.path=SOCK
	sock := filepath.Join(tmp, "vm.sock")
	start(t, bin("vde_plug"), "qemu-stream://"+sock+"[listen]", "vde://"+dir)
	waitPorts(t, dir, 2)
	var c net.Conn
	waitFor(t, func() bool {
		var err error
		c, err = net.Dial("unix", sock)
		return err == nil
	}, "the plug's stream socket")
	defer c.Close()
	f1 := eth(bcast, mac(1), "from the VM (stream)")
	hdr := binary.BigEndian.AppendUint32(nil, uint32(len(f1)))
	c.Write(append(hdr, f1...))
	other.expect(t, "switch plug", f1)
	f2 := eth(mac(1), mac(2), "to the VM (stream)")
	other.send(t, f2)
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	var h [4]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, binary.BigEndian.Uint32(h[:]))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != string(f2) {
		t.Fatalf("VM got %q, %v", got, err)
	}

	// -netdev dgram,local.type=unix,local.path=VM,remote.type=unix,remote.path=VDE
	vmPath, vdePath := filepath.Join(tmp, "vm.dgram"), filepath.Join(tmp, "vde.dgram")
	vm, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: vmPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	start(t, bin("vde_plug"), fmt.Sprintf("qemu-dgram://%s->%s", vdePath, vmPath), "vde://"+dir)
	waitPorts(t, dir, 3)
	waitFor(t, func() bool { _, err := os.Lstat(vdePath); return err == nil }, "the plug's datagram socket")
	f3 := eth(bcast, mac(3), "from the VM (dgram)")
	vm.WriteToUnix(f3, &net.UnixAddr{Name: vdePath, Net: "unixgram"})
	other.expect(t, "switch plug", f3)
	f4 := eth(mac(3), mac(2), "to the VM (dgram)")
	other.send(t, f4)
	buf := make([]byte, 2000)
	vm.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, err := vm.Read(buf)
	if err != nil || string(buf[:n]) != string(f4) {
		t.Fatalf("VM got %q, %v", buf[:n], err)
	}
}
