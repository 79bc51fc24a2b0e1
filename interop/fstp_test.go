package interop

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ring is three switches joined in a ring by cables (our vde_plug with two
// VNLs): switch i port 1 to switch i+1 port 2. A host plug sits on port 3 of
// each switch. Switch 0 has the best priority and becomes root.
type ring struct {
	dirs   [3]string
	cons   [3]*consoleClient
	cables [3]*proc
	hosts  [3]*plug
}

func newRing(t *testing.T, exes [3]string) *ring {
	r := &ring{}
	for i, exe := range exes {
		prio := fmt.Sprintf("0x%x", 0x1000*(i+1))
		r.dirs[i], r.cons[i] = managed(t, exe, "-F", "--macaddr", fmt.Sprintf("02:00:00:00:00:%02x", i+1), "--priority", prio)
	}
	for i := range r.cables {
		j := (i + 1) % 3
		r.cables[i] = start(t, bin("vde_plug"), r.dirs[i]+"[1]", r.dirs[j]+"[2]")
	}
	for i := range r.hosts {
		r.hosts[i] = attachOpt(t, r.dirs[i], 3, true)
	}
	return r
}

var statusRE = regexp.MustCompile(`-- Port (\d{4}) tagged=\d active=1 status=(\w+)`)

// blockedIn returns switch i's Discarding ports in a VLAN.
func (r *ring) blockedIn(t *testing.T, i, vlan int) map[int]bool {
	out := map[int]bool{}
	for _, m := range statusRE.FindAllStringSubmatch(r.cons[i].cmd(t, "vlan/print "+strconv.Itoa(vlan)), -1) {
		if m[2] == "Discarding" {
			n, _ := strconv.Atoi(m[1])
			out[n] = true
		}
	}
	return out
}

// converge waits until exactly one cable is blocked at both ends and the
// hosts are not.
func (r *ring) converge(t *testing.T) { r.convergeIn(t, 0) }

// convergeIn is converge for one VLAN's spanning tree.
func (r *ring) convergeIn(t *testing.T, vlan int) {
	waitForLong(t, 20*time.Second, func() bool {
		var b [3]map[int]bool
		for i := range b {
			b[i] = r.blockedIn(t, i, vlan)
		}
		cut := 0
		for i := range r.cables {
			j := (i + 1) % 3
			if b[i][1] && b[j][2] {
				cut++
			} else if b[i][1] || b[j][2] {
				return false
			}
		}
		return cut == 1 && !b[0][3] && !b[1][3] && !b[2][3]
	}, "spanning tree convergence")
}

func waitForLong(t *testing.T, d time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

var roleRE = regexp.MustCompile(`-- Port (\d{4}) tagged=\d portcost=\d+ role=(\S+)`)

// roles returns switch i's "port=role" list and its root id.
func (r *ring) roles(t *testing.T, i int) (string, string) {
	out := r.cons[i].cmd(t, "fstp/print 0")
	var rs []string
	for _, m := range roleRE.FindAllStringSubmatch(out, -1) {
		rs = append(rs, m[1]+"="+m[2])
	}
	root := regexp.MustCompile(`\+\+ root (\S+)`).FindStringSubmatch(out)
	if root == nil {
		t.Fatalf("fstp/print: %q", out)
	}
	return strings.Join(rs, " "), root[1]
}

// cableOut returns the OUT packet counters of the cable ports (1 and 2).
func (r *ring) cableOut(t *testing.T, i int) int {
	total := 0
	for _, p := range []string{"1", "2"} {
		m := regexp.MustCompile(`OUT: pkts +(\d+)`).FindStringSubmatch(r.cons[i].cmd(t, "port/print "+p))
		if m != nil {
			n, _ := strconv.Atoi(m[1])
			total += n
		}
	}
	return total
}

// checkRing: one broadcast reaches every other host exactly once, the cable
// counters stay bounded (no storm), and it returns the roles seen.
func checkRing(t *testing.T, exes [3]string, stormWindow time.Duration) [3]string {
	r := newRing(t, exes)
	r.converge(t)
	f := eth(bcast, mac(0xa1), "once")
	r.hosts[0].send(t, f)
	r.hosts[1].expect(t, "host 1", f)
	r.hosts[2].expect(t, "host 2", f)
	r.hosts[1].quiet(t, "host 1 (a second copy)")
	r.hosts[2].quiet(t, "host 2 (a second copy)")
	var before [3]int
	for i := range before {
		before[i] = r.cableOut(t, i)
	}
	time.Sleep(stormWindow)
	for i := range before {
		if d := r.cableOut(t, i) - before[i]; d > 20*int(stormWindow/(10*time.Second)+1) {
			t.Fatalf("switch %d sent %d frames on its cables in %v: a storm", i, d, stormWindow)
		}
	}
	var roles [3]string
	var root string
	for i := range roles {
		var rt string
		roles[i], rt = r.roles(t, i)
		if i > 0 && rt != root {
			t.Fatalf("switch %d sees root %s, switch 0 sees %s", i, rt, root)
		}
		root = rt
	}
	return roles
}

// A ring of three switches with FSTP: all ours, and two ours with the real
// vde_switch in the middle. Broadcasts arrive once, there is no storm, and
// the roles equal those the real switches choose in the same ring.
func TestFSTPRing(t *testing.T) {
	rs := real(t, "vde_switch")
	realRoles := checkRing(t, [3]string{rs, rs, rs}, time.Second)
	mixed := checkRing(t, [3]string{bin("vde_switch"), rs, bin("vde_switch")}, 10*time.Second)
	ours := checkRing(t, [3]string{bin("vde_switch"), bin("vde_switch"), bin("vde_switch")}, time.Second)
	if mixed != realRoles || ours != realRoles {
		t.Fatalf("roles differ:\nreal  %q\nmixed %q\nours  %q", realRoles, mixed, ours)
	}
}

// failover cuts switch 2's root-port cable and returns how long it takes
// until a host on switch 0 reaches the host on switch 2 again.
func failover(t *testing.T, exes [3]string) time.Duration {
	r := newRing(t, exes)
	r.converge(t)
	roles, _ := r.roles(t, 2)
	var victim *proc
	switch {
	case strings.Contains(roles, "0001=Root"):
		victim = r.cables[2] // switch 2 port 1 goes to switch 0
	case strings.Contains(roles, "0002=Root"):
		victim = r.cables[1] // switch 2 port 2 comes from switch 1
	default:
		t.Fatalf("switch 2 has no root port: %s", roles)
	}
	victim.Stop()
	cut := time.Now()
	for i := 0; ; i++ {
		f := eth(bcast, mac(0xb0), fmt.Sprintf("probe %d", i))
		r.hosts[0].send(t, f)
		if got := r.hosts[2].recv(50 * time.Millisecond); got != nil && strings.HasPrefix(string(got[14:]), "probe") {
			return time.Since(cut)
		}
		if time.Since(cut) > 30*time.Second {
			t.Fatal("no traffic 30 s after the cut")
		}
	}
}

// Cutting the root port's cable: traffic resumes over the alternate path.
// FSTP_REPORT=file appends the measured times (bench/fstp_failover.sh).
func TestFSTPFailover(t *testing.T) {
	rs := real(t, "vde_switch")
	cases := []struct {
		name string
		exes [3]string
	}{
		{"real", [3]string{rs, rs, rs}},
		{"ours", [3]string{bin("vde_switch"), bin("vde_switch"), bin("vde_switch")}},
		{"mixed", [3]string{bin("vde_switch"), rs, bin("vde_switch")}},
	}
	for _, c := range cases {
		d := failover(t, c.exes)
		t.Logf("%s: traffic resumed %v after the cut", c.name, d)
		if path := os.Getenv("FSTP_REPORT"); path != "" {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0644)
			if err == nil {
				fmt.Fprintf(f, "%s %.6f\n", c.name, d.Seconds())
				f.Close()
			}
		}
	}
}

// A ring whose cables carry VLAN 10 tagged (trunks) next to the untagged
// VLAN 0, with the real vde_switch in it: VLAN 10 runs its own spanning
// tree with tagged BPDUs, converges to a tree of its own, and a VLAN 10
// broadcast reaches each VLAN 10 host once.
func TestFSTPTaggedTrunkRing(t *testing.T) {
	r := newRing(t, [3]string{bin("vde_switch"), real(t, "vde_switch"), bin("vde_switch")})
	var hosts [3]*plug
	for i, cc := range r.cons {
		cc.must(t, "vlan/create 10", "vlan/addport 10 1", "vlan/addport 10 2", "port/create 4", "port/setvlan 4 10")
		hosts[i] = attachOpt(t, r.dirs[i], 4, true)
	}
	r.converge(t)
	r.convergeIn(t, 10)
	f := eth(bcast, mac(0xc1), "vlan 10 once")
	hosts[0].send(t, f)
	hosts[1].expect(t, "VLAN 10 host on switch 1", f)
	hosts[2].expect(t, "VLAN 10 host on switch 2", f)
	hosts[1].quiet(t, "VLAN 10 host 1 (a second copy)")
	hosts[2].quiet(t, "VLAN 10 host 2 (a second copy)")
	for i := 1; i < 3; i++ {
		r.hosts[i].quiet(t, "VLAN 0 host (VLAN 10 traffic)")
	}
	for i := range r.cons {
		if out := r.cons[i].cmd(t, "fstp/print 10"); !strings.Contains(out, "tagged=1") {
			t.Fatalf("switch %d: no tagged members in fstp/print 10: %q", i, out)
		}
	}
}
