package transports

import "github.com/govde/govde/frames"

// MoreReader is implemented by endpoints that can add to a batch what is
// readable now without waiting (datagram sockets).
type MoreReader interface {
	// ReadMore appends what is readable now to b's free space and returns
	// the number of frames added (0: nothing now).
	ReadMore(b *frames.Batch) (int, error)
}

// moreTries is how many empty non-blocking reads Complete makes before it
// gives up on a burst.
const moreTries = 4

// Complete extends a batch just read from src while its last frame is a TCP
// segment in the middle of a burst (frames.TCPContinues): the sender, a
// kernel cutting a 64 KB send into segments or a plug doing it for a tap,
// is still writing the rest, and a batch cut here would travel on in
// pieces (one wake-up, one system call and, at a tap that merges segments,
// one packet for the kernel per piece). Readers call it after ReadBatch;
// it does nothing for endpoints that are not MoreReaders, and costs one
// check per batch otherwise.
func Complete(b *frames.Batch, src Endpoint) {
	mr, ok := src.(MoreReader)
	if !ok {
		return
	}
	for idle := 0; idle < moreTries && b.N > 0 && !b.Full() && frames.TCPContinues(b.Frames[b.N-1].Bytes()); {
		n, err := mr.ReadMore(b)
		if err != nil {
			return
		}
		if n == 0 {
			idle++
		}
	}
}
