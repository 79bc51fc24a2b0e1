package cryptcab

import (
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"sync/atomic"

	"golang.org/x/crypto/chacha20poly1305"
)

// authKey authenticates a handshake: derived from a pre-shared key file, a
// ticket obtained over SSH, or (for a rekey) a session's resumption key.
type authKey [32]byte

// Labels keep the MACs and derivations of different purposes apart.
const (
	labelInit = "govde-cryptcab v1 init"
	labelResp = "govde-cryptcab v1 resp"
	labelKeys = "govde-cryptcab v1 keys"
	labelPSK  = "govde-cryptcab v1 psk"
)

func macInit(k *authKey, msg []byte) [32]byte {
	m := hmac.New(sha256.New, k[:])
	m.Write([]byte(labelInit))
	m.Write(msg)
	var out [32]byte
	m.Sum(out[:0])
	return out
}

func macResp(k *authKey, init, resp []byte) [32]byte {
	m := hmac.New(sha256.New, k[:])
	m.Write([]byte(labelResp))
	m.Write(init)
	m.Write(resp)
	var out [32]byte
	m.Sum(out[:0])
	return out
}

// verifyInit checks the MAC of a well-formed INIT in constant time.
func verifyInit(k *authKey, p []byte) bool {
	m := macInit(k, p[:initMAC])
	return hmac.Equal(m[:], p[initMAC:initLen])
}

// verifyResp checks the MAC of a well-formed RESP answering init.
func verifyResp(k *authKey, init, p []byte) bool {
	m := macResp(k, init, p[:respMAC])
	return hmac.Equal(m[:], p[respMAC:respLen])
}

// pskKey derives the handshake key of a pre-shared key file's contents.
func pskKey(secret []byte) (authKey, error) {
	var k authKey
	b, err := hkdf.Key(sha256.New, secret, []byte(labelPSK), "auth", len(k))
	if err != nil {
		return k, err
	}
	copy(k[:], b)
	return k, nil
}

// sessionKeys are what one handshake yields.
type sessionKeys struct {
	c2s, s2c [32]byte // client→server and server→client AEAD keys
	resume   authKey  // authenticates the session's next rekey
}

// deriveKeys mixes the X25519 result, the handshake's authentication key
// and the whole transcript (INIT and RESP without its MAC) into the keys.
func deriveKeys(auth *authKey, dh []byte, init, resp []byte) (sessionKeys, error) {
	var sk sessionKeys
	h := sha256.New()
	h.Write(init[:initLen])
	h.Write(resp[:respMAC])
	info := append([]byte(labelKeys), h.Sum(nil)...)
	prk, err := hkdf.Extract(sha256.New, dh, auth[:])
	if err != nil {
		return sk, err
	}
	okm, err := hkdf.Expand(sha256.New, prk, string(info), 96)
	if err != nil {
		return sk, err
	}
	copy(sk.c2s[:], okm[0:32])
	copy(sk.s2c[:], okm[32:64])
	copy(sk.resume[:], okm[64:96])
	return sk, nil
}

// newEphemeral returns a fresh X25519 key pair.
func newEphemeral() (*ecdh.PrivateKey, error) { return ecdh.X25519().GenerateKey(rand.Reader) }

// x25519 computes the shared secret with the peer's public key; it fails
// on low-order points (an all-zero result).
func x25519(priv *ecdh.PrivateKey, peer []byte) ([]byte, error) {
	pub, err := ecdh.X25519().NewPublicKey(peer)
	if err != nil {
		return nil, err
	}
	return priv.ECDH(pub)
}

// randUint64 returns a random non-zero number (indices, session ids).
func randUint64() uint64 {
	var b [8]byte
	for {
		rand.Read(b[:])
		if v := binary.LittleEndian.Uint64(b[:]); v != 0 {
			return v
		}
	}
}

// keypair is the pair of AEAD keys of one handshake, as one side sees it.
//
// The send half is used by the session's writer (one goroutine at a time,
// under the session's write lock) and by the engine's housekeeping for
// keepalives: the counter is atomic. The receive half (recv, replay) is
// used only by the engine's reader with the engine lock held.
type keypair struct {
	sess        *Session
	localIndex  uint32 // what the peer writes in the DATA it sends us
	remoteIndex uint32 // what we write in the DATA we send
	send        cipher.AEAD
	recv        cipher.AEAD
	sendCtr     atomic.Uint64
	replay      replayWindow
	created     int64 // engine clock (ns)
	resume      authKey
}

func newKeypair(s *Session, sendKey, recvKey *[32]byte, local, remote uint32, now int64, resume authKey) (*keypair, error) {
	snd, err := chacha20poly1305.New(sendKey[:])
	if err != nil {
		return nil, err
	}
	rcv, err := chacha20poly1305.New(recvKey[:])
	if err != nil {
		return nil, err
	}
	return &keypair{sess: s, localIndex: local, remoteIndex: remote, send: snd, recv: rcv, created: now, resume: resume}, nil
}
