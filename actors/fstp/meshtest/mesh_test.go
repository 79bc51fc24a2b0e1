// Package meshtest runs the fast spanning tree on whole in-process switches
// (fabric, port and FSTP actors) joined by in-memory cables.
package meshtest

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/govde/govde/actors/fabric"
	"github.com/govde/govde/actors/vswitch"
	"github.com/govde/govde/transports/memtest"
)

type link struct{ a, pa, b, pb int }

// blockedPorts returns, per switch, the ports its VLAN 0 holds Discarding.
func blockedPorts(t *testing.T, sws []*vswitch.Switch) []map[int]bool {
	out := make([]map[int]bool, len(sws))
	for i, s := range sws {
		r, err := s.Ask(&fabric.GetVLANs{})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = map[int]bool{}
		for _, v := range r.(*fabric.VLANs).VLANs {
			if v.ID == 0 {
				for _, m := range v.Members {
					if m.Blocked {
						out[i][m.Port] = true
					}
				}
			}
		}
	}
	return out
}

// isTree reports whether the links whose two ends forward connect all
// switches without a loop.
func isTree(n int, links []link, blocked []map[int]bool) bool {
	parent := make([]int, n)
	for i := range parent {
		parent[i] = i
	}
	find := func(x int) int {
		for parent[x] != x {
			x = parent[x]
		}
		return x
	}
	edges := 0
	for _, l := range links {
		if blocked[l.a][l.pa] || blocked[l.b][l.pb] {
			continue
		}
		ra, rb := find(l.a), find(l.b)
		if ra == rb {
			return false
		}
		parent[ra] = rb
		edges++
	}
	return edges == n-1
}

// A mesh of 8 switches with random redundant cables converges to a tree in
// every one of 20 seeded trials.
func TestMeshOfEightSwitches(t *testing.T) {
	for seed := int64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewSource(seed))
			const n = 8
			sws := make([]*vswitch.Switch, n)
			next := make([]int, n)
			order := r.Perm(n) // distinct MACs, so distinct bridge ids, in a random order
			for i := range sws {
				sws[i] = vswitch.New(fabric.Config{NumPorts: 16, FSTP: true, Priority: 0x8000,
					MAC: [6]byte{2, 0, 0, 0, 0, byte(order[i] + 1)}, Logf: func(string, ...any) {}})
				next[i] = 1
			}
			defer func() {
				for _, s := range sws {
					s.Close()
				}
			}()
			var links []link
			connect := func(a, b int) {
				ea, eb := memtest.Pair(256)
				l := link{a, next[a], b, next[b]}
				next[a]++
				next[b]++
				for _, x := range []struct {
					s    *vswitch.Switch
					port int
					ep   *memtest.PairEnd
				}{{sws[a], l.pa, ea}, {sws[b], l.pb, eb}} {
					if _, err := x.s.AttachEndpoint(&fabric.AttachEndpoint{Endpoint: x.ep, UID: -1, Port: x.port}); err != nil {
						t.Fatal(err)
					}
				}
				links = append(links, l)
			}
			for i := 1; i < n; i++ {
				connect(i, r.Intn(i))
			}
			for k := 0; k < n; k++ {
				if a, b := r.Intn(n), r.Intn(n); a != b {
					connect(a, b)
				}
			}
			deadline := time.Now().Add(20 * time.Second)
			for {
				// stable for two consecutive looks half a second apart
				b1 := blockedPorts(t, sws)
				time.Sleep(500 * time.Millisecond)
				b2 := blockedPorts(t, sws)
				if isTree(n, links, b1) && isTree(n, links, b2) && fmt.Sprint(b1) == fmt.Sprint(b2) {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("no tree after 20 s: links %v blocked %v", links, b2)
				}
			}
		})
	}
}
