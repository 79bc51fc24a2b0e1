package cryptcab

import (
	"context"
	"fmt"
	"os"
)

// Credential authenticates one full handshake: the key both sides hold and
// the id that tells the server which key it is (0: the pre-shared key;
// otherwise a ticket).
type Credential struct {
	ID  uint64
	Key [32]byte
}

// Authenticator obtains the credential of a new session. Credential may
// block (an SSH login) until ctx ends; it is called once per session, not
// per rekey, from one goroutine at a time.
type Authenticator interface {
	Credential(ctx context.Context) (Credential, error)
}

// MinPSKLen is the shortest pre-shared key file accepted.
const MinPSKLen = 16

// PSK is a pre-shared key (vde_cryptcab -P KEYFILE). Both ends load the
// same file; what is used is a key derived from its whole contents, never
// the contents themselves.
type PSK struct {
	key authKey
}

// NewPSK derives a PSK from secret, which must hold at least MinPSKLen
// bytes (random bytes: `head -c 32 /dev/urandom > KEYFILE`).
func NewPSK(secret []byte) (PSK, error) {
	if len(secret) < MinPSKLen {
		return PSK{}, fmt.Errorf("cryptcab: pre-shared key too short (%d bytes, need at least %d random bytes; make one with: head -c 32 /dev/urandom > KEYFILE)", len(secret), MinPSKLen)
	}
	k, err := pskKey(secret)
	return PSK{key: k}, err
}

// LoadPSK reads a pre-shared key file.
func LoadPSK(path string) (PSK, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return PSK{}, fmt.Errorf("cryptcab: pre-shared key: %w", err)
	}
	p, err := NewPSK(b)
	if err != nil {
		return PSK{}, fmt.Errorf("%w: %s", err, path)
	}
	return p, nil
}

// Credential implements Authenticator.
func (p PSK) Credential(context.Context) (Credential, error) {
	return Credential{Key: p.key}, nil
}
