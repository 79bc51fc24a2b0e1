// Package cryptcab is govde's encrypted, authenticated cable between hosts:
// the counterpart of vde2's vde_cryptcab, keeping its shape (a UDP server
// with one session, and one switch port, per client; clients that connect
// to it; keys from SSH or from a pre-shared key file) and making it sound.
//
// # Keys
//
// Every session gets fresh keys from an X25519 exchange, authenticated by
// one of:
//
//   - a pre-shared key file (vde_cryptcab -P), read by both ends (PSK);
//   - an SSH login (SSHAuth): the client logs in to the server's host with
//     golang.org/x/crypto/ssh, the user's keys (ssh-agent, ~/.ssh/id_*) and
//     known_hosts, and asks the cryptcab server, through a
//     direct-streamlocal channel to its ticket socket, for a one-time
//     ticket (an id and a 32-byte key, valid once, for 30 s). No key file is
//     ever copied around, as the original's scp did.
//
// The handshake is two datagrams. INIT (client → server) carries the
// client's key index, the credential id (0: the pre-shared key; a ticket
// id; or, for a rekey, the session id), an ephemeral X25519 public key and
// an HMAC-SHA256 of all that under the credential's key. RESP (server →
// client) carries the server's index, the session id, its ephemeral key
// and an HMAC over both messages. Both ends then derive, with HKDF-SHA256
// over the X25519 result salted with the credential's key and bound to the
// whole transcript, one ChaCha20-Poly1305 key per direction and a
// resumption key that authenticates the session's next rekey. The client's
// first DATA (a keepalive, sent at once) confirms the keys to the server;
// only then does a new session exist (Server.Accept returns it) or a rekey
// take effect. A server refuses a bad INIT with a DENY naming the reason
// (wrong key, unknown ticket, server full, kind of authentication not
// enabled), rate-limited and smaller than what it answers.
//
// # Data
//
// A DATA datagram is a 16-byte header (type, three zero bytes, the
// receiver's key index, a 64-bit counter), the frame encrypted with
// ChaCha20-Poly1305 (nonce: the counter; additional data: the header) and
// the 16-byte tag: 32 bytes of overhead. Empty DATA are keepalives. The
// receiver finds the key by index, drops counters it has seen or that are
// more than Window behind the newest (a sliding window), authenticates,
// and decrypts straight into a pooled frame buffer: no allocation per
// frame either way. Every datagram that is not delivered is counted under
// one reason (Stats); none is logged per packet.
//
// # Timers
//
// The client rekeys after Timing.RekeyAfterPackets packets either way or
// Timing.RekeyAfterTime; keys are refused at twice those limits. Each side
// sends a keepalive after Timing.Keepalive without sending; a server ends
// a session after Timing.SessionTimeout of silence; a client makes a new
// session when its server has been silent that long or says it does not
// know the session (it restarted). Frames written while no key is usable
// are dropped and counted.
//
// # Concurrency
//
// One engine per UDP socket: a reader goroutine (recvmmsg, up to 64
// datagrams per call) and a housekeeping goroutine share the control state
// under one lock, taken once per received batch. Session writers never take
// it: they seal into per-session buffers and send with sendmmsg.
package cryptcab
