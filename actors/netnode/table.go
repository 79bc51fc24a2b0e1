package netnode

import "github.com/govde/govde/frames"

// probe is how many consecutive entries a key may occupy from its home
// bucket.
const probe = 8

// used marks an entry in use (frames.Key uses the low 60 bits).
const used = 1 << 63

// Table is the switch netnode's MAC table: (MAC, VLAN) → port, fresh for
// Expire seconds after the last frame from that MAC. A fixed array of
// entries with open addressing over a short probe window (the stalest entry
// of a full window gives way), so learning never allocates. Owned by the
// node actor: no locks.
type Table struct {
	ent    []tentry
	mask   uint64
	seed   uint64
	expire int64
}

type tentry struct {
	key  uint64
	seen int64
	port int32
}

// NewTable returns a table of size entries (rounded up to a power of 2, at
// least the probe window), hashed with seed, whose entries stay fresh for
// expire seconds.
func NewTable(size int, seed uint64, expire int64) *Table {
	n := 1
	for n < size || n < probe {
		n <<= 1
	}
	return &Table{ent: make([]tentry, n), mask: uint64(n - 1), seed: seed, expire: expire}
}

// Size returns the number of entries.
func (t *Table) Size() int { return len(t.ent) }

// home mixes the key as vdeplug's netnode hash does (murmur3's finaliser
// with the seed folded in).
func (t *Table) home(key uint64) uint64 {
	x := key
	x ^= x>>33 ^ t.seed
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x & t.mask
}

// Learn records that key (frames.Key of a unicast source MAC and VLAN)
// was seen on port at time now.
func (t *Table) Learn(key uint64, port int, now int64) {
	key |= used
	h := t.home(key)
	victim := -1
	for i := uint64(0); i < probe; i++ {
		j := int((h + i) & t.mask)
		e := &t.ent[j]
		if e.key == key {
			e.seen, e.port = now, int32(port)
			return
		}
		switch {
		case victim >= 0 && t.ent[victim].key == 0:
		case e.key == 0:
			victim = j
		case victim < 0 || e.seen < t.ent[victim].seen:
			victim = j
		}
	}
	t.ent[victim] = tentry{key: key, seen: now, port: int32(port)}
}

// Lookup returns the port of key if it was seen within the expiry time
// before now, else -1.
func (t *Table) Lookup(key uint64, now int64) int {
	key |= used
	h := t.home(key)
	for i := uint64(0); i < probe; i++ {
		e := &t.ent[(h+i)&t.mask]
		if e.key == key {
			if e.seen >= now-t.expire {
				return int(e.port)
			}
			return -1
		}
	}
	return -1
}

// ForgetPort removes the entries pointing to port (a client left).
func (t *Table) ForgetPort(port int) {
	for i := range t.ent {
		if t.ent[i].key != 0 && int(t.ent[i].port) == port {
			t.ent[i] = tentry{}
		}
	}
}

// Len returns the number of entries fresh at time now.
func (t *Table) Len(now int64) int {
	n := 0
	for i := range t.ent {
		if t.ent[i].key != 0 && t.ent[i].seen >= now-t.expire {
			n++
		}
	}
	return n
}

// keyOf returns the table key of the MAC at p[0:6] in vlan.
func keyOf(p []byte, vlan uint16) uint64 { return frames.KeyOf(p, vlan) }
