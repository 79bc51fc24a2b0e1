package fabric

import "github.com/govde/govde/frames"

// Table is the switch's MAC table: (MAC, VLAN) → port, with vde_switch's
// aging semantics (spec §3.2). Buckets are chained and use vde_switch's own
// bucket function so that hash/print lists entries in the same order as the
// real switch; new entries are prepended to their bucket. Entries live in a
// slab reused through a free list, so steady-state learning allocates nothing.
// Owned by the fabric actor: no locks.
type Table struct {
	buckets []int32 // head entry index per bucket, -1 when empty
	ent     []entry
	free    int32 // free list through entry.next, -1 when empty
	count   int

	GCInterval    int64 // seconds between sweeps (default 2)
	Expire        int64 // seconds an idle entry survives (default 100)
	MinPersist    int64 // seconds before an entry may move port (default 3)
	nextGC        int64
	gcDue         bool
	OnAdd, OnDrop func(key uint64, port int) // debug hooks (may be nil)
}

type entry struct {
	key      uint64
	lastSeen int64
	port     int32
	next     int32
}

// NewTable returns a table with size buckets (rounded up to a power of 2).
func NewTable(size int) *Table {
	t := &Table{GCInterval: 2, Expire: 100, MinPersist: 3, free: -1}
	t.Resize(size)
	return t
}

// RoundPow2 rounds n (>0) up to a power of two.
func RoundPow2(n int) int {
	p := 1
	for p < n {
		p <<= 1
	}
	return p
}

// Resize sets the number of buckets (rounded up to a power of 2) and
// empties the table, as hash/setsize does.
func (t *Table) Resize(size int) {
	if size < 1 {
		size = 1
	}
	size = RoundPow2(size)
	t.buckets = make([]int32, size)
	t.ent = t.ent[:0]
	t.free = -1
	t.count = 0
	for i := range t.buckets {
		t.buckets[i] = -1
	}
}

// Size returns the number of buckets.
func (t *Table) Size() int { return len(t.buckets) }

// Len returns the number of entries.
func (t *Table) Len() int { return t.count }

// Bucket is vde_switch's bucket function: the key's little-endian bytes are
// mac[0..5], vlan_lo, vlan_hi, mixed with murmur3's fmix64.
func (t *Table) Bucket(key uint64) int {
	x := key
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	return int(x & uint64(len(t.buckets)-1))
}

func (t *Table) find(key uint64) int32 {
	for i := t.buckets[t.Bucket(key)]; i >= 0; i = t.ent[i].next {
		if t.ent[i].key == key {
			return i
		}
	}
	return -1
}

// Lookup returns the port of key, or -1. It runs a due garbage collection
// first, as the Debian switch sweeps lazily at the next lookup.
func (t *Table) Lookup(key uint64, now int64) int {
	t.maybeGC(now)
	if i := t.find(key); i >= 0 {
		return int(t.ent[i].port)
	}
	return -1
}

// Learn records that key was seen on port at time now. It returns the port
// the entry was on before when that differs from port (a MAC move, whether
// or not min persistence let it move), else -1.
func (t *Table) Learn(key uint64, port int, now int64) (old int) {
	if i := t.find(key); i >= 0 {
		e := &t.ent[i]
		if int(e.port) == port {
			e.lastSeen = now
			return -1
		}
		old = int(e.port)
		if now-e.lastSeen > t.MinPersist {
			if t.OnDrop != nil {
				t.OnDrop(key, old)
			}
			e.port = int32(port)
			e.lastSeen = now
			if t.OnAdd != nil {
				t.OnAdd(key, port)
			}
		}
		return old
	}
	var i int32
	if t.free >= 0 {
		i = t.free
		t.free = t.ent[i].next
	} else {
		t.ent = append(t.ent, entry{})
		i = int32(len(t.ent) - 1)
	}
	b := t.Bucket(key)
	t.ent[i] = entry{key: key, lastSeen: now, port: int32(port), next: t.buckets[b]}
	t.buckets[b] = i
	t.count++
	if t.OnAdd != nil {
		t.OnAdd(key, port)
	}
	return -1
}

// Tick marks a sweep as due when the GC interval has passed; the sweep runs
// at the next Lookup.
func (t *Table) Tick(now int64) {
	if now >= t.nextGC {
		t.gcDue = true
		t.nextGC = now + t.GCInterval
	}
}

func (t *Table) maybeGC(now int64) {
	if !t.gcDue {
		return
	}
	t.gcDue = false
	t.Flush(func(_ uint64, _ int) bool { return false }, now)
}

// Flush deletes every entry for which drop(key, port) is true; with a time
// argument it also deletes entries idle longer than Expire.
func (t *Table) Flush(drop func(key uint64, port int) bool, now ...int64) {
	expire := len(now) > 0
	for b := range t.buckets {
		prev := int32(-1)
		for i := t.buckets[b]; i >= 0; {
			e := &t.ent[i]
			next := e.next
			if drop(e.key, int(e.port)) || (expire && e.lastSeen+t.Expire < now[0]) {
				if prev < 0 {
					t.buckets[b] = next
				} else {
					t.ent[prev].next = next
				}
				if t.OnDrop != nil {
					t.OnDrop(e.key, int(e.port))
				}
				e.next = t.free
				t.free = i
				t.count--
			} else {
				prev = i
			}
			i = next
		}
	}
}

// FlushPort deletes the entries pointing to port.
func (t *Table) FlushPort(port int) {
	t.Flush(func(_ uint64, p int) bool { return p == port })
}

// FlushVLAN deletes the entries of vlan.
func (t *Table) FlushVLAN(vlan uint16) {
	t.Flush(func(k uint64, _ int) bool { return frames.KeyVLAN(k) == vlan })
}

// Entry is one MAC table row as hash/print shows it.
type Entry struct {
	Bucket int
	MAC    frames.MAC
	VLAN   uint16
	Port   int
	Age    int64
}

// Entries lists the table in hash/print order: bucket 0..size-1, newest
// first inside a bucket.
func (t *Table) Entries(now int64) []Entry {
	out := make([]Entry, 0, t.count)
	for b := range t.buckets {
		for i := t.buckets[b]; i >= 0; i = t.ent[i].next {
			e := &t.ent[i]
			out = append(out, Entry{Bucket: b, MAC: frames.KeyMAC(e.key), VLAN: frames.KeyVLAN(e.key), Port: int(e.port), Age: now - e.lastSeen})
		}
	}
	return out
}

// Find returns the entry of key, if any.
func (t *Table) Find(key uint64, now int64) (Entry, bool) {
	i := t.find(key)
	if i < 0 {
		return Entry{}, false
	}
	e := &t.ent[i]
	return Entry{Bucket: t.Bucket(key), MAC: frames.KeyMAC(key), VLAN: frames.KeyVLAN(key), Port: int(e.port), Age: now - e.lastSeen}, true
}
