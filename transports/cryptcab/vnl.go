package cryptcab

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/vnl"
)

// VNL options of cryptcab://, in prefix-matching order.
var vnlKeys = []string{"psk", "sshport", "socket", "identity", "knownhosts", "lport", "keepalive", "timeout"}

// Open is the cryptcab module's vnl.Opener: the client end of a cryptcab
// as an endpoint, so that a plug, a switch port or a chain stage can use
// it. The syntax (path + bracket options, as vde://):
//
//	cryptcab://[USER@]HOST[:PORT][[psk=KEYFILE/sshport=N/identity=FILE/knownhosts=FILE/socket=PATH/lport=[ADDR:]PORT/keepalive=SEC/timeout=SEC]]
//
// PORT is the server's UDP port (default 7667). With psk the session is
// authenticated by that pre-shared key file; without it by an SSH login to
// USER@HOST (port sshport, default 22) with the user's keys and
// known_hosts (identity and knownhosts override them), fetching a ticket
// from the server's socket (default /tmp/vde_cryptcab.PORT.sock). File
// names contain '/', the option separator: quote them
// (psk='/etc/vde/key') or write %2F. An IPv6 HOST is written bare
// (::1:7667 ends with the port) or quoted with its brackets
// ('[::1]':7667). keepalive and timeout are in seconds (Timing.Keepalive,
// Timing.SessionTimeout). It blocks until the handshake is done or fails.
// It is not registered by this package: transports/all does
// vnl.Register("cryptcab", cryptcab.Open).
func Open(arg string, a vnl.Args) (transports.Endpoint, error) {
	path, opts, _, err := vnl.ParseBracket(arg, vnlKeys, false)
	if err != nil {
		return nil, err
	}
	t, err := parseVNLTarget(path)
	if err != nil {
		return nil, err
	}
	cfg := ClientConfig{Server: t.Addr(), MaxFrame: a.MaxFrame, Descr: "cryptcab://" + t.String()}
	secs := func(key string) (time.Duration, error) {
		v, ok := opts.Last(key)
		if !ok {
			return 0, nil
		}
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("cryptcab: bad %s=%q (seconds)", key, v)
		}
		return time.Duration(n * float64(time.Second)), nil
	}
	if cfg.Timing.Keepalive, err = secs("keepalive"); err != nil {
		return nil, err
	}
	if cfg.Timing.SessionTimeout, err = secs("timeout"); err != nil {
		return nil, err
	}
	if v, ok := opts.Last("lport"); ok {
		cfg.Local = v
	}
	if f, ok := opts.Last("psk"); ok {
		p, err := LoadPSK(f)
		if err != nil {
			return nil, err
		}
		cfg.Auth = p
	} else {
		sa := &SSHAuth{User: t.User, Host: t.Host, UDPPort: t.Port}
		if v, ok := opts.Last("sshport"); ok {
			if sa.Port, err = parsePort(v); err != nil {
				return nil, err
			}
		}
		if v, ok := opts.Last("socket"); ok {
			sa.Socket = v
		}
		if v, ok := opts.Last("identity"); ok {
			sa.Identities = []string{v}
		}
		if v, ok := opts.Last("knownhosts"); ok {
			sa.KnownHosts = []string{v}
		}
		cfg.Auth = sa
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultSSHTimeout+DefaultHandshakeTimeout)
	defer cancel()
	return Dial(ctx, cfg)
}

// parseVNLTarget accepts ParseTarget's forms plus an IPv6 address with a
// port and no brackets, udp://'s convention (brackets would start the
// option list): the port follows the last ':' when what precedes it is an
// address; otherwise the whole text is the address.
func parseVNLTarget(s string) (Target, error) {
	rest := s
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	if strings.Count(rest, ":") > 1 && !strings.HasPrefix(rest, "[") {
		i := strings.LastIndexByte(rest, ':')
		if a, err := netip.ParseAddr(rest[:i]); err == nil && a.Is6() {
			if p, err := parsePort(rest[i+1:]); err == nil {
				t, err := ParseTarget(s[:len(s)-len(rest)] + "[" + rest[:i] + "]")
				t.Port = p
				return t, err
			}
		}
	}
	return ParseTarget(s)
}

var _ vnl.Opener = Open
