package frames

import "sync"

// BatchSize is the largest number of frames in one Batch.
const BatchSize = 64

// Batch is the unit of every data-plane message: up to BatchSize frames that
// travel together. A Batch holds one reference to each of its frames.
//
// Ownership: whoever holds the *Batch owns it and its frame references.
// Sending it in a message hands both over. The final holder calls Release,
// which releases every frame and recycles the batch, or Recycle after it
// has taken the frames out itself.
//
// Batch deliberately has no GetMessages method: protoactor's mailbox would
// unpack such a message.
type Batch struct {
	Frames [BatchSize]*Buf
	N      int
	// Port is the switch port (or chain stage) the frames entered from.
	Port int
	// Src identifies the endpoint within the port, for counters and logs.
	Src int
}

var batchPool = sync.Pool{New: func() any { return new(Batch) }}

// GetBatch returns an empty batch from the pool.
func GetBatch() *Batch {
	b := batchPool.Get().(*Batch)
	b.N, b.Port, b.Src = 0, 0, 0
	return b
}

// Add appends f (taking over the caller's reference). It reports false when
// the batch is full, in which case the caller keeps the reference.
func (b *Batch) Add(f *Buf) bool {
	if b.N == BatchSize {
		return false
	}
	b.Frames[b.N] = f
	b.N++
	return true
}

// Full reports whether no more frames fit.
func (b *Batch) Full() bool { return b.N == BatchSize }

// Slice returns the frames in the batch.
func (b *Batch) Slice() []*Buf { return b.Frames[:b.N] }

// Bytes returns the sum of the frame lengths.
func (b *Batch) Bytes() int {
	t := 0
	for _, f := range b.Frames[:b.N] {
		t += f.n
	}
	return t
}

// ReleaseFrames releases every frame and empties the batch, keeping the
// batch itself for reuse by its holder.
func (b *Batch) ReleaseFrames() {
	for i, f := range b.Frames[:b.N] {
		f.Release()
		b.Frames[i] = nil
	}
	b.N = 0
}

// Release releases every frame and returns the batch to the pool.
func (b *Batch) Release() {
	b.ReleaseFrames()
	batchPool.Put(b)
}

// Recycle returns an emptied batch to the pool without touching frames:
// the caller has already taken over or released them.
func (b *Batch) Recycle() {
	for i := range b.Frames[:b.N] {
		b.Frames[i] = nil
	}
	b.N = 0
	batchPool.Put(b)
}
