package interop

import (
	"fmt"
	"net"
	"testing"
	"time"
)

// udpPort returns a UDP port free on 127.0.0.1 now.
func udpPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func udpVNL(local, remote int) string {
	return fmt.Sprintf("udp://127.0.0.1:%d->127.0.0.1:%d", local, remote)
}

// Our udp:// and the real one are the two ends of one cable, both ways,
// whichever speaks first.
func TestModulesUDPOursReal(t *testing.T) {
	vp := real(t, "vde_plug")
	for _, realFirst := range []bool{true, false} {
		pr, po := udpPort(t), udpPort(t)
		r := startPlug(t, vp, udpVNL(pr, po))
		o := startPlug(t, bin("vde_plug"), udpVNL(po, pr))
		time.Sleep(100 * time.Millisecond)
		first, second, fn, sn := r, o, "ours", "real"
		if !realFirst {
			first, second, fn, sn = o, r, "real", "ours"
		}
		f1 := eth(bcast, mac(1), "first")
		first.send(t, f1)
		second.expect(t, fn, f1)
		f2 := eth(mac(1), mac(2), "reply")
		second.send(t, f2)
		first.expect(t, sn, f2)
		big := eth(mac(2), mac(1), string(make([]byte, 1500)))
		first.send(t, big)
		second.expect(t, fn+" (1514 bytes)", big)
		for _, p := range []*plug{r, o} {
			p.stdin.Close()
			if code := p.Wait(t, 3*time.Second); code != 0 {
				t.Fatalf("exit %d: %s", code, p.stderr)
			}
		}
	}
}

// The connection semantics of spec §2.4, checked on the real plug and on
// ours with the same raw sockets: before its first send a plug accepts
// anyone; after it, only its peer; a zero-length datagram from the peer
// makes it accept anyone again until it sends.
func TestModulesUDPSemantics(t *testing.T) {
	for _, exe := range []string{real(t, "vde_plug"), bin("vde_plug")} {
		peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer peer.Close()
		stranger, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer stranger.Close()
		port := udpPort(t)
		p := startPlug(t, exe, udpVNL(port, peer.LocalAddr().(*net.UDPAddr).Port))
		time.Sleep(150 * time.Millisecond)
		to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
		f := func(s string) []byte { return eth(bcast, mac(9), s) }

		stranger.WriteToUDP(f("stranger before"), to)
		p.expect(t, exe+": stranger before the first send", f("stranger before"))
		p.send(t, f("hello"))
		buf := make([]byte, 2000)
		peer.SetReadDeadline(time.Now().Add(3 * time.Second))
		if n, _, err := peer.ReadFromUDP(buf); err != nil || string(buf[:n]) != string(f("hello")) {
			t.Fatalf("%s: peer got %q, %v", exe, buf[:n], err)
		}
		stranger.WriteToUDP(f("stranger after"), to)
		p.quiet(t, exe+": stranger after the first send")
		peer.WriteToUDP(f("peer"), to)
		p.expect(t, exe+": peer", f("peer"))
		peer.WriteToUDP(nil, to)
		time.Sleep(100 * time.Millisecond)
		stranger.WriteToUDP(f("stranger after reset"), to)
		p.expect(t, exe+": stranger after a zero-length datagram", f("stranger after reset"))
		p.send(t, f("again"))
		if n, _, err := peer.ReadFromUDP(buf); err != nil || string(buf[:n]) != string(f("again")) {
			t.Fatalf("%s: peer got %q, %v", exe, buf[:n], err)
		}
		stranger.WriteToUDP(f("stranger after reconnect"), to)
		p.quiet(t, exe+": stranger after the reconnection")
		p.stdin.Close()
		p.Wait(t, 3*time.Second)
	}
}

// Jumbo frames between two of our plugs: up to the 65507 bytes an IPv4
// datagram holds (the real vde_plug stops at 9234).
func TestModulesUDPJumbo(t *testing.T) {
	pa, pb := udpPort(t), udpPort(t)
	a := startPlug(t, bin("vde_plug"), "--maxframe", "65535", udpVNL(pa, pb))
	b := startPlug(t, bin("vde_plug"), "--maxframe", "65535", udpVNL(pb, pa))
	time.Sleep(100 * time.Millisecond)
	for _, n := range []int{9000, 65507} {
		f := eth(mac(1), mac(2), string(make([]byte, n-14)))
		a.send(t, f)
		b.expect(t, fmt.Sprintf("%d bytes a->b", n), f)
		b.send(t, f)
		a.expect(t, fmt.Sprintf("%d bytes b->a", n), f)
	}
}
