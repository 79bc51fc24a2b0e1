package fstp

import (
	"fmt"
	"math/rand"
	"testing"
)

// A simulated network of switches running one VLAN each, joined by links.

type simFrame struct {
	sw, port int
	data     []byte
}

type simNet struct {
	sws   []*simSwitch
	queue []simFrame
	rng   *rand.Rand
	sent  int
}

type simSwitch struct {
	n       *simNet
	id      int
	v       *VLAN
	peer    map[int][2]int // port -> (switch, port)
	blocked map[int]bool
}

func (s *simSwitch) Send(port int, frame []byte) {
	if pp, ok := s.peer[port]; ok {
		s.n.queue = append(s.n.queue, simFrame{pp[0], pp[1], append([]byte(nil), frame...)})
		s.n.sent++
	}
}
func (s *simSwitch) SetBlocked(port int, b bool) { s.blocked[port] = b }
func (s *simSwitch) Flush()                      {}
func (s *simSwitch) Event(string, string)        {}

func newSim(n int, seed int64) *simNet {
	net := &simNet{rng: rand.New(rand.NewSource(seed))}
	for i := 0; i < n; i++ {
		s := &simSwitch{n: net, id: i, peer: map[int][2]int{}, blocked: map[int]bool{}}
		mac := [6]byte{2, 0, 0, 0, byte(i >> 8), byte(i)}
		s.v = NewVLAN(0, 0x8000, mac, s)
		s.v.SetOn(true)
		net.sws = append(net.sws, s)
	}
	return net
}

// link joins switches a and b on their next free ports.
func (n *simNet) link(a, b int) {
	pa, pb := len(n.sws[a].peer)+1, len(n.sws[b].peer)+1
	n.sws[a].peer[pa] = [2]int{b, pb}
	n.sws[b].peer[pb] = [2]int{a, pa}
	n.sws[a].v.Join(pa, false)
	n.sws[b].v.Join(pb, false)
}

// cut removes the link on port pa of switch a.
func (n *simNet) cut(a, pa int) {
	pp := n.sws[a].peer[pa]
	delete(n.sws[a].peer, pa)
	delete(n.sws[pp[0]].peer, pp[1])
	n.sws[a].v.Leave(pa)
	n.sws[pp[0]].v.Leave(pp[1])
}

// run advances the clock second by second, delivering BPDUs in a random
// order, and fails on a BPDU storm.
func (n *simNet) run(t *testing.T, from, to int64) {
	for now := from; now <= to; now++ {
		for _, s := range n.sws {
			s.v.Tick(now)
		}
		for steps := 0; len(n.queue) > 0; steps++ {
			if steps > 100000 {
				t.Fatalf("BPDU storm at t=%d", now)
			}
			i := n.rng.Intn(len(n.queue))
			f := n.queue[i]
			n.queue = append(n.queue[:i], n.queue[i+1:]...)
			n.sws[f.sw].v.Receive(f.port, f.data)
		}
	}
}

// forwardingLinks returns the links whose two ends forward.
func (n *simNet) forwardingLinks() [][2]int {
	var out [][2]int
	for _, s := range n.sws {
		for p, pp := range s.peer {
			if s.id < pp[0] && !s.blocked[p] && !n.sws[pp[0]].blocked[pp[1]] {
				out = append(out, [2]int{s.id, pp[0]})
			}
		}
	}
	return out
}

// checkTree verifies that the forwarding links form a spanning tree of the
// switches reachable over all links.
func (n *simNet) checkTree(t *testing.T, what string) {
	t.Helper()
	links := n.forwardingLinks()
	parent := make([]int, len(n.sws))
	for i := range parent {
		parent[i] = i
	}
	find := func(x int) int {
		for parent[x] != x {
			x = parent[x]
		}
		return x
	}
	for _, l := range links {
		a, b := find(l[0]), find(l[1])
		if a == b {
			t.Fatalf("%s: loop through forwarding link %v (links %v)", what, l, links)
		}
		parent[a] = b
	}
	// connectivity of the full topology
	full := make([]int, len(n.sws))
	for i := range full {
		full[i] = i
	}
	ff := func(x int) int {
		for full[x] != x {
			x = full[x]
		}
		return x
	}
	for _, s := range n.sws {
		for _, pp := range s.peer {
			a, b := ff(s.id), ff(pp[0])
			full[a] = b
		}
	}
	for i := range n.sws {
		for j := range n.sws {
			if ff(i) == ff(j) && find(i) != find(j) {
				t.Fatalf("%s: switches %d and %d connected but not by forwarding links %v", what, i, j, links)
			}
		}
	}
}

func TestRingOfThree(t *testing.T) {
	n := newSim(3, 1)
	n.link(0, 1)
	n.link(1, 2)
	n.link(2, 0)
	n.run(t, 1, 40)
	n.checkTree(t, "ring")
	if len(n.forwardingLinks()) != 2 {
		t.Fatalf("forwarding links %v", n.forwardingLinks())
	}
	// switch 0 has the lowest MAC: it is root for everyone
	for _, s := range n.sws {
		if s.v.Root != n.sws[0].v.Self {
			t.Fatalf("switch %d root %s", s.id, s.v.Root)
		}
	}
	// a steady state sends only hellos: no storm
	before := n.sent
	n.run(t, 41, 80)
	if per := (n.sent - before) / 40; per > 3*2*2 {
		t.Fatalf("%d BPDUs a second in steady state", per)
	}
	// cut a forwarding link: the blocked one takes over
	for _, s := range n.sws {
		for p, pp := range s.peer {
			if !s.blocked[p] && !n.sws[pp[0]].blocked[pp[1]] {
				n.cut(s.id, p)
				goto cut
			}
		}
	}
cut:
	n.run(t, 81, 140)
	n.checkTree(t, "ring after a cut")
	if len(n.forwardingLinks()) != 2 {
		t.Fatalf("after the cut: forwarding links %v", n.forwardingLinks())
	}
}

// A mesh of 8 switches with random redundant links converges to a tree in
// every seeded trial, and again after a random link is cut.
func TestMeshOfEightConverges(t *testing.T) {
	for seed := int64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			n := newSim(8, seed)
			r := rand.New(rand.NewSource(seed))
			for i := 1; i < 8; i++ { // a random spanning tree first, so the mesh is connected
				n.link(i, r.Intn(i))
			}
			for k := 0; k < 8; k++ { // then redundant links
				a, b := r.Intn(8), r.Intn(8)
				if a != b {
					n.link(a, b)
				}
			}
			n.run(t, 1, 60)
			n.checkTree(t, "mesh")
			s := n.sws[r.Intn(8)]
			for p := range s.peer {
				n.cut(s.id, p)
				break
			}
			n.run(t, 61, 140)
			n.checkTree(t, "mesh after a cut")
		})
	}
}
