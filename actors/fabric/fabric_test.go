package fabric

import (
	"bytes"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/govde/govde/frames"
	"github.com/govde/govde/transports/memtest"
)

func quietSystem() *actor.ActorSystem {
	return actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
}

type harness struct {
	t   *testing.T
	sys *actor.ActorSystem
	fab *actor.PID
	now atomic.Int64
	eps map[int]*memtest.Endpoint
}

func newHarness(t *testing.T, cfg Config) *harness {
	h := &harness{t: t, sys: quietSystem(), eps: map[int]*memtest.Endpoint{}}
	cfg.Clock = h.now.Load
	cfg.Logf = func(string, ...any) {}
	h.fab = New(h.sys, cfg)
	t.Cleanup(func() { h.sys.Root.Stop(h.fab); h.sys.Shutdown() })
	return h
}

func (h *harness) ask(msg any) any {
	h.t.Helper()
	r, err := h.sys.Root.RequestFuture(h.fab, msg, 2*time.Second).Result()
	if err != nil {
		h.t.Fatalf("request %T: %v", msg, err)
	}
	return r
}

func (h *harness) attach(port int) *memtest.Endpoint {
	h.t.Helper()
	ep := memtest.New("test", 256)
	r := h.ask(&AttachEndpoint{Endpoint: ep, ID: 100 + port, Module: "unix prog", Descr: "t", UID: -1, Port: port}).(*Attached)
	if r.Err != nil {
		h.t.Fatalf("attach %d: %v", port, r.Err)
	}
	h.eps[r.Port] = ep
	return ep
}

func (h *harness) ok(msg any) {
	h.t.Helper()
	if r := h.ask(msg).(*Result); r.Err != nil {
		h.t.Fatalf("%T%+v: %v", msg, msg, r.Err)
	}
}

func mac(b byte) []byte { return []byte{2, 0, 0, 0, 0, b} }

func frame(dst, src []byte, payload string) []byte {
	f := append(append(append([]byte{}, dst...), src...), 0x08, 0x00)
	return append(f, payload...)
}

func tagged(dst, src []byte, tci uint16, payload string) []byte {
	f := append(append(append([]byte{}, dst...), src...), 0x81, 0x00, byte(tci>>8), byte(tci), 0x08, 0x00)
	return append(f, payload...)
}

// expect checks that exactly the listed ports receive want (and nothing
// else arrives anywhere within a short wait).
func (h *harness) expect(want []byte, ports ...int) {
	h.t.Helper()
	got := map[int]bool{}
	for _, p := range ports {
		select {
		case f := <-h.eps[p].Out:
			if !bytes.Equal(f, want) {
				h.t.Fatalf("port %d got % x, want % x", p, f, want)
			}
			got[p] = true
		case <-time.After(2 * time.Second):
			h.t.Fatalf("port %d received nothing", p)
		}
	}
	time.Sleep(30 * time.Millisecond)
	for p, ep := range h.eps {
		select {
		case f := <-ep.Out:
			h.t.Fatalf("port %d unexpectedly got % x", p, f)
		default:
		}
	}
}

func TestLearningStopsFlooding(t *testing.T) {
	h := newHarness(t, Config{NumPorts: 8})
	a, b, _ := h.attach(1), h.attach(2), h.attach(3)
	bc := frame(frames.Broadcast[:], mac(1), "hello")
	a.Inject(bc)
	h.expect(bc, 2, 3)
	// unknown unicast floods
	u := frame(mac(2), mac(1), "to b, unknown")
	a.Inject(u)
	h.expect(u, 2, 3)
	// b answers: now both are known
	r := frame(mac(1), mac(2), "to a")
	b.Inject(r)
	h.expect(r, 1)
	u2 := frame(mac(2), mac(1), "to b, known")
	a.Inject(u2)
	h.expect(u2, 2)
	// a frame to its own port is dropped
	a.Inject(frame(mac(1), mac(9), "self"))
	h.expect(nil)
}

func TestAgingRemovesEntries(t *testing.T) {
	h := newHarness(t, Config{NumPorts: 8})
	a, b, _ := h.attach(1), h.attach(2), h.attach(3)
	h.ok(&SetTableParams{Expire: 2, GCInterval: 1, MinPersist: -1})
	b.Inject(frame(frames.Broadcast[:], mac(2), "learn b"))
	h.expect(frame(frames.Broadcast[:], mac(2), "learn b"), 1, 3)
	u := frame(mac(2), mac(1), "known")
	a.Inject(u)
	h.expect(u, 2)
	// idle for 6 switch seconds: the entry is still listed (lazy sweep) ...
	h.now.Store(6)
	if d := h.ask(&GetTable{}).(*TableDump); len(d.Entries) != 2 {
		t.Fatalf("entries before sweep: %+v", d.Entries)
	}
	// ... and the next frame sweeps it, so the unicast floods again
	a.Inject(u)
	h.expect(u, 2, 3)
	d := h.ask(&GetTable{}).(*TableDump)
	if len(d.Entries) != 1 || d.Entries[0].Port != 1 {
		t.Fatalf("entries after sweep: %+v", d.Entries)
	}
}

func TestMinPersistence(t *testing.T) {
	h := newHarness(t, Config{NumPorts: 8})
	a, b, c := h.attach(1), h.attach(2), h.attach(3)
	a.Inject(frame(frames.Broadcast[:], mac(1), "x"))
	h.expect(frame(frames.Broadcast[:], mac(1), "x"), 2, 3)
	// mac(1) shows up on port 3 right away: the move is ignored
	c.Inject(frame(frames.Broadcast[:], mac(1), "y"))
	h.expect(frame(frames.Broadcast[:], mac(1), "y"), 1, 2)
	u := frame(mac(1), mac(2), "z")
	b.Inject(u)
	h.expect(u, 1)
	// after min persistence it moves
	h.now.Store(4)
	c.Inject(frame(frames.Broadcast[:], mac(1), "w"))
	h.expect(frame(frames.Broadcast[:], mac(1), "w"), 1, 2)
	b.Inject(u)
	h.expect(u, 3)
}

func TestHubFloodsEverything(t *testing.T) {
	h := newHarness(t, Config{NumPorts: 8, Hub: true})
	a, b, _ := h.attach(1), h.attach(2), h.attach(3)
	b.Inject(frame(mac(1), mac(2), "learn?"))
	h.expect(frame(mac(1), mac(2), "learn?"), 1, 3)
	u := frame(mac(2), mac(1), "unicast")
	a.Inject(u)
	h.expect(u, 2, 3)
	st := h.ask(&GetStats{}).(*Stats)
	if st.MACs != 0 {
		t.Fatalf("hub learned %d MACs", st.MACs)
	}
}

func TestPortActivationFlushesTable(t *testing.T) {
	h := newHarness(t, Config{NumPorts: 8})
	a, _ := h.attach(1), h.attach(2)
	a.Inject(frame(frames.Broadcast[:], mac(1), "x"))
	h.expect(frame(frames.Broadcast[:], mac(1), "x"), 2)
	if st := h.ask(&GetStats{}).(*Stats); st.MACs != 1 {
		t.Fatalf("MACs = %d", st.MACs)
	}
	h.attach(3)
	if st := h.ask(&GetStats{}).(*Stats); st.MACs != 0 {
		t.Fatalf("MACs after a new port = %d", st.MACs)
	}
}

func TestVLANTagging(t *testing.T) {
	h := newHarness(t, Config{NumPorts: 8})
	for p := 1; p <= 5; p++ {
		h.attach(p)
	}
	h.ok(&CreateVLAN{VLAN: 10})
	h.ok(&SetPortVLAN{Port: 2, VLAN: 10})
	h.ok(&AddTagged{VLAN: 10, Port: 3})
	h.ok(&AddTagged{VLAN: 10, Port: 4})
	// untagged broadcast from port 2: tagged copies to 3 and 4, nothing to 1 and 5
	h.eps[2].Inject(frame(frames.Broadcast[:], mac(0xb), "aaaa"))
	h.expect(tagged(frames.Broadcast[:], mac(0xb), 0x000a, "aaaa"), 3, 4)
	// tagged (priority 5) from port 3: port 2 untagged, port 4 unchanged
	tf := tagged(frames.Broadcast[:], mac(0xc), 0xa00a, "bbbb")
	h.eps[3].Inject(tf)
	got2 := <-h.eps[2].Out
	got4 := <-h.eps[4].Out
	if !bytes.Equal(got2, frame(frames.Broadcast[:], mac(0xc), "bbbb")) || !bytes.Equal(got4, tf) {
		t.Fatalf("port2 % x port4 % x", got2, got4)
	}
	// VLAN 0 broadcast stays in VLAN 0: ports 3 and 4 are still untagged
	// members of VLAN 0 besides their tagged VLAN 10; port 2 left it
	b0 := frame(frames.Broadcast[:], mac(1), "v0")
	h.eps[1].Inject(b0)
	h.expect(b0, 3, 4, 5)
	// a tag for a VLAN the port is not in is dropped
	h.eps[5].Inject(tagged(frames.Broadcast[:], mac(5), 10, "x"))
	h.expect(nil)
	st := h.ask(&GetStats{}).(*Stats)
	for _, p := range st.Ports {
		if p.Num == 5 && p.Counters.DropVLAN != 1 {
			t.Fatalf("port 5 DropVLAN = %d", p.Counters.DropVLAN)
		}
	}
}

func TestRemoveVLAN0ThenConnect(t *testing.T) {
	h := newHarness(t, Config{NumPorts: 8})
	h.ok(&RemoveVLAN{VLAN: 0})
	h.attach(1)
	st := h.ask(&GetStats{}).(*Stats)
	if len(st.Ports) != 1 || st.Ports[0].Untagged != frames.VLANNone {
		t.Fatalf("%+v", st.Ports)
	}
}

func TestPortAllocation(t *testing.T) {
	h := newHarness(t, Config{NumPorts: 4})
	for want := 1; want <= 3; want++ {
		ep := memtest.New("x", 4)
		r := h.ask(&AttachEndpoint{Endpoint: ep, UID: -1}).(*Attached)
		if r.Err != nil || r.Port != want {
			t.Fatalf("auto port = %d, %v; want %d", r.Port, r.Err, want)
		}
	}
	r := h.ask(&AttachEndpoint{Endpoint: memtest.New("x", 4), UID: -1}).(*Attached)
	if r.Err == nil {
		t.Fatalf("fourth client got port %d on a 4-port switch", r.Port)
	}
	r = h.ask(&AttachEndpoint{Endpoint: memtest.New("x", 4), UID: -1, Port: 4}).(*Attached)
	if r.Err == nil {
		t.Fatal("port 4 accepted on a 4-port switch")
	}
	r = h.ask(&AttachEndpoint{Endpoint: memtest.New("x", 4), UID: -1, Port0: true}).(*Attached)
	if r.Err != nil || r.Port != 0 {
		t.Fatalf("port0: %d %v", r.Port, r.Err)
	}
}

func TestAccessControl(t *testing.T) {
	h := newHarness(t, Config{NumPorts: 8, Groups: func(uid int) []int {
		if uid == 1000 {
			return []int{1000, 50}
		}
		return []int{uid}
	}})
	h.ok(&CreatePort{Port: 5})
	// poke the ACL through the fabric's own state (console commands come with the console issue)
	setACL := func(user, group int) {
		done := make(chan struct{})
		h.sys.Root.Send(h.fab, &testHook{fn: func(f *fabric) { f.ports[5].user, f.ports[5].group = user, group; close(done) }})
		<-done
	}
	setACL(0, -1)
	if r := h.ask(&AttachEndpoint{Endpoint: memtest.New("x", 4), UID: 1000, Port: 5}).(*Attached); r.Err == nil {
		t.Fatal("uid 1000 accepted on a port owned by root")
	}
	setACL(-1, 50)
	ep := memtest.New("x", 4)
	if r := h.ask(&AttachEndpoint{Endpoint: ep, UID: 1000, Port: 5}).(*Attached); r.Err != nil {
		t.Fatalf("group member refused: %v", r.Err)
	}
	// a second endpoint on the active port must come from the same user
	if r := h.ask(&AttachEndpoint{Endpoint: memtest.New("x", 4), UID: 0, Port: 5}).(*Attached); r.Err == nil {
		t.Fatal("root joined a port in use by uid 1000")
	}
	if r := h.ask(&AttachEndpoint{Endpoint: memtest.New("x", 4), UID: 1000, Port: 5}).(*Attached); r.Err != nil {
		t.Fatalf("same user, second endpoint: %v", r.Err)
	}
}
