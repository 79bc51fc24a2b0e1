package vxnet

import "sync"

// probe is how many consecutive entries a key may occupy from its home
// bucket: lookups and updates look at no more than this many entries.
const probe = 8

// Table maps the source MAC addresses seen in received frames to the peer
// that sent them, so that frames for a known MAC go to that peer by unicast
// instead of to the multicast group.
//
// It is a fixed array of entries (the size is set once: no allocation after
// NewTable) with open addressing over a short probe window; when the window
// is full the stalest entry gives way. An entry not refreshed for the expiry
// time is ignored by Lookup. A nil *Table is valid and empty (hashsize=0:
// everything goes to the group).
//
// All methods are safe for concurrent use (the reader learns while the
// writer looks up); each call takes the table's mutex once.
type Table struct {
	mu     sync.Mutex
	ent    []entry
	mask   uint64
	expire int64
}

type entry struct {
	key  uint64 // MAC in the low 48 bits, bit 63 set when in use
	seen int64  // seconds, Clock time of the last Learn
	peer Peer
}

const used = 1 << 63

// NewTable returns a table of size entries rounded up to a power of 2 (at
// least the probe window), whose entries expire after expire seconds. size
// 0 returns nil: no learning.
func NewTable(size int, expire int64) *Table {
	if size <= 0 {
		return nil
	}
	n := RoundPow2(size)
	if n < probe {
		n = probe
	}
	return &Table{ent: make([]entry, n), mask: uint64(n - 1), expire: expire}
}

// RoundPow2 rounds n (> 0) up to a power of two, as vdeplug rounds its
// hashsize option.
func RoundPow2(n int) int {
	p := 1
	for p < n {
		p <<= 1
	}
	return p
}

// Size returns the number of entries (0 for a nil table).
func (t *Table) Size() int {
	if t == nil {
		return 0
	}
	return len(t.ent)
}

// macKey packs the 6 bytes at mac[0:6] into a used key.
func macKey(mac []byte) uint64 {
	_ = mac[5]
	return uint64(mac[0])<<40 | uint64(mac[1])<<32 | uint64(mac[2])<<24 |
		uint64(mac[3])<<16 | uint64(mac[4])<<8 | uint64(mac[5]) | used
}

// home is the first bucket of a key: murmur3's 64-bit finaliser, as
// vdeplug's hash.
func (t *Table) home(key uint64) uint64 {
	x := key
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x & t.mask
}

// Learn records that the frame source mac (6 bytes, not a group address:
// callers skip those) came from peer at time now (seconds).
func (t *Table) Learn(mac []byte, peer Peer, now int64) {
	if t == nil {
		return
	}
	key := macKey(mac)
	t.mu.Lock()
	h := t.home(key)
	victim := -1 // the first free entry, else the stalest
	for i := uint64(0); i < probe; i++ {
		j := int((h + i) & t.mask)
		e := &t.ent[j]
		if e.key == key {
			e.seen, e.peer = now, peer
			t.mu.Unlock()
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
	t.ent[victim] = entry{key: key, seen: now, peer: peer}
	t.mu.Unlock()
}

// Lookup returns the peer that sent from mac (6 bytes) within the expiry
// time before now. Group addresses are never found.
func (t *Table) Lookup(mac []byte, now int64) (Peer, bool) {
	if t == nil || mac[0]&1 != 0 {
		return Peer{}, false
	}
	key := macKey(mac)
	t.mu.Lock()
	h := t.home(key)
	for i := uint64(0); i < probe; i++ {
		e := &t.ent[(h+i)&t.mask]
		if e.key == key {
			p, fresh := e.peer, e.seen >= now-t.expire
			t.mu.Unlock()
			return p, fresh
		}
	}
	t.mu.Unlock()
	return Peer{}, false
}

// Forget removes every entry pointing to peer (vxvde's goodbye message) and
// returns how many there were.
func (t *Table) Forget(peer Peer) int {
	if t == nil {
		return 0
	}
	n := 0
	t.mu.Lock()
	for i := range t.ent {
		if e := &t.ent[i]; e.key != 0 && e.peer == peer {
			*e = entry{}
			n++
		}
	}
	t.mu.Unlock()
	return n
}

// Len returns the number of entries fresh at time now.
func (t *Table) Len(now int64) int {
	if t == nil {
		return 0
	}
	n := 0
	t.mu.Lock()
	for i := range t.ent {
		if e := &t.ent[i]; e.key != 0 && e.seen >= now-t.expire {
			n++
		}
	}
	t.mu.Unlock()
	return n
}

// Learned is the Router of the vx modules: a frame goes to the peer learned
// for its destination MAC, else to Group (flooding). Now is the table's
// clock in seconds.
type Learned struct {
	Table *Table
	Group Peer
	Now   func() int64
}

// Route implements Router.
func (l *Learned) Route(p []byte, to *Peer) bool {
	if peer, ok := l.Table.Lookup(p[0:6], l.Now()); ok {
		*to = peer
	} else {
		*to = l.Group
	}
	return true
}
