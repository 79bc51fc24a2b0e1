package main

import (
	"testing"
	"time"
)

func TestParseCryptcabFlags(t *testing.T) {
	f, code := parseCryptcabFlags("vde_cryptcab", []string{"-vvv", "-c", "joe@host:99", "-s", "/tmp/sw", "-p", "127.0.0.1:5000",
		"-P", "/k", "-k", "-i", "/id", "--known-hosts", "/kh", "--ssh-port", "2222", "--ssh-socket", "/s",
		"--keepalive-interval", "2.5", "--session-timeout", "30", "--max-sessions", "7", "--maxframe", "1518"})
	if f == nil {
		t.Fatalf("parse failed (%d)", code)
	}
	want := cryptcabFlags{sock: "/tmp/sw", local: "127.0.0.1:5000", connect: "joe@host:99", psk: "/k", identity: "/id",
		knownHosts: "/kh", socket: "/s", sshPort: 2222, maxSessions: 7, maxFrame: 1518, keepalive: true, verbose: 3}
	want.timing.Keepalive, want.timing.SessionTimeout = 2500*time.Millisecond, 30*time.Second
	if *f != want {
		t.Fatalf("got %+v\nwant %+v", *f, want)
	}
	if f, _ := parseCryptcabFlags("vde_cryptcab", []string{"--verbose=vv", "--connect=h", "--preshared=/k"}); f == nil || f.verbose != 3 || f.connect != "h" || f.psk != "/k" {
		t.Fatalf("long forms: %+v", f)
	}
	for _, bad := range [][]string{{"-k"}, {"-x"}, {"-h"}, {"extra"}, {"--ssh-port", "0"}, {"--keepalive-interval", "-1"},
		{"--maxframe", "70000"}, {"--max-sessions", "x"}, {"-q"}} {
		if f, code := parseCryptcabFlags("vde_cryptcab", bad); f != nil || code != 1 {
			t.Errorf("%v accepted (%d)", bad, code)
		}
	}
}
