package tap

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports/internal/netnstest"
	"github.com/govde/govde/transports/vnl"
)

// openIn creates a tap inside namespace ns, gives it addr/24 and MTU 1500
// and brings it up; it is closed (and so removed) at cleanup.
func openIn(t *testing.T, ns *netnstest.NS, cfg Config, addr string) *Device {
	t.Helper()
	var d *Device
	var err error
	ns.Do(t, func() { d, err = New(cfg) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ns.IP(t, "addr", "add", addr+"/24", "dev", d.Name())
	ns.IP(t, "link", "set", d.Name(), "mtu", "1500", "up")
	return d
}

// wire carries frames between two taps as a plug and a switch would, and
// records the longest frame it carried.
type wire struct {
	longest atomic.Int64
	frames  atomic.Int64
	wg      sync.WaitGroup
}

func (w *wire) run(src, dst *Device) {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		for {
			b := frames.GetBatch()
			err := src.ReadBatch(b)
			for _, f := range b.Slice() {
				w.frames.Add(1)
				for {
					l := w.longest.Load()
					if int64(f.Len()) <= l || w.longest.CompareAndSwap(l, int64(f.Len())) {
						break
					}
				}
			}
			if b.N > 0 {
				dst.WriteBatch(b)
			}
			b.Release()
			if err != nil {
				return
			}
		}
	}()
}

// transfer sends n bytes over TCP from namespace from to a listener in
// namespace to at addr, and checks they arrive intact.
func transfer(t *testing.T, from, to *netnstest.NS, addr string, n int) {
	t.Helper()
	var ln net.Listener
	var err error
	to.Do(t, func() { ln, err = net.Listen("tcp4", addr+":0") })
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i*31 + i>>11)
	}
	want := sha256.Sum256(data)
	got := make(chan [32]byte, 1)
	errc := make(chan error, 2)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			errc <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		h := sha256.New()
		if _, err := io.Copy(h, c); err != nil {
			errc <- err
			return
		}
		var s [32]byte
		copy(s[:], h.Sum(nil))
		got <- s
	}()
	var c net.Conn
	from.Do(t, func() { c, err = net.DialTimeout("tcp4", ln.Addr().String(), 5*time.Second) })
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
	c.Close()
	select {
	case s := <-got:
		if !bytes.Equal(s[:], want[:]) {
			t.Fatalf("%d bytes: the data arrived damaged", n)
		}
	case err := <-errc:
		t.Fatal(err)
	case <-time.After(40 * time.Second):
		t.Fatal("transfer timed out")
	}
}

// Kernel TCP between two namespaces whose taps are joined by a wire that
// carries frames as VDE does: with offloads on both sides, and with a
// plain tap on one side. The wire only ever sees frames of at most 1514
// bytes (MTU 1500) and the data crosses intact both ways.
func TestOffloadTCPThroughTaps(t *testing.T) {
	for _, c := range []struct {
		name   string
		plainB bool
	}{{"offload-offload", false}, {"offload-plain", true}} {
		t.Run(c.name, func(t *testing.T) {
			na, nb := netnstest.New(t), netnstest.New(t)
			da := openIn(t, na, Config{Name: "gvoA"}, "10.79.0.1")
			db := openIn(t, nb, Config{Name: "gvoB", Plain: c.plainB}, "10.79.0.2")
			if !da.Offload() || db.Offload() == c.plainB {
				t.Fatalf("offload: A %v, B %v", da.Offload(), db.Offload())
			}
			var w wire
			w.run(da, db)
			w.run(db, da)
			transfer(t, na, nb, "10.79.0.2", 8<<20)
			transfer(t, nb, na, "10.79.0.1", 4<<20)
			da.Close()
			db.Close()
			w.wg.Wait()
			sa, sb := da.Stats(), db.Stats()
			t.Logf("%d frames, longest %d bytes; A %+v; B %+v", w.frames.Load(), w.longest.Load(), sa, sb)
			if l := w.longest.Load(); l > 1514 {
				t.Fatalf("a frame of %d bytes crossed the wire", l)
			}
			if sa.GSOReads == 0 || sa.GSOWrites == 0 {
				t.Fatal("tap A moved no super-packet: the offloads are not in use")
			}
			if !c.plainB && (sb.GSOReads == 0 || sb.GSOWrites == 0) {
				t.Fatal("tap B moved no super-packet: the offloads are not in use")
			}
			if sa.BadReads+sb.BadReads != 0 {
				t.Fatalf("malformed reads: A %d, B %d", sa.BadReads, sb.BadReads)
			}
		})
	}
}

// GOVDE_TAP_OFFLOAD=0 and tap://NAME[offload=0] open plain taps.
func TestOffloadOptOut(t *testing.T) {
	needRoot(t)
	t.Setenv(OffloadEnv, "0")
	if d := open(t, 1500, Config{}); d.Offload() {
		t.Fatal("GOVDE_TAP_OFFLOAD=0: the tap has offloads")
	}
	t.Setenv(OffloadEnv, "")
	if d := open(t, 1500, Config{}); !d.Offload() {
		t.Fatal("the tap has no offloads by default")
	}
	for _, c := range []struct {
		arg, name string
		plain     bool
		err       bool
	}{
		{"tap0", "tap0", false, false},
		{"tap0[offload=0]", "tap0", true, false},
		{"tap0[offload=1]", "tap0", false, false},
		{"t[x]0", "t[x]0", false, false},
		{"tap0[mtu=9]", "", false, true},
	} {
		name, plain, err := parseArg(c.arg)
		if name != c.name || plain != c.plain || (err != nil) != c.err {
			t.Errorf("%s: %q %v %v", c.arg, name, plain, err)
		}
		if err != nil && (!errors.Is(err, syscall.EINVAL) || err.Error() != `Invalid argument: unknown tap option "mtu=9" (tap://NAME[offload=0|1])`) {
			t.Errorf("%s: %v", c.arg, err)
		}
	}
	name := tapName()
	e, err := Open(name+"[offload=0]", vnl.Args{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if d := e.(*Device); d.Offload() || d.Name() != name {
		t.Fatalf("%s[offload=0]: offload %v, name %s", name, d.Offload(), d.Name())
	}
}
