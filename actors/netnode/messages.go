package netnode

import "github.com/govde/govde/transports"

// Messages the node actor accepts besides *frames.Batch (frames that
// entered from Batch.Port: HostPort or a client's number). Control
// messages are answered through RequestFuture; none is on the frame path.

type attachReq struct {
	ep    transports.Endpoint
	descr string
}

type attachResp struct {
	port int
	err  error
}

type detachReq struct{ ep transports.Endpoint }

// clientGone is sent by a client's reader when ReadBatch failed.
type clientGone struct{ ep transports.Endpoint }

type statsReq struct{}

// closeReq makes the node close every client and refuse new ones.
type closeReq struct{}

// Stats is a snapshot of a node.
type Stats struct {
	Kind Kind
	// Host is the host port (Num HostPort).
	Host PortStats
	// Clients are the attached clients, in attach order.
	Clients []PortStats
	// MACs is the number of fresh MAC table entries (switch only).
	MACs int
	// QueueDrops counts frames refused by the node's full mailbox.
	QueueDrops uint64
}

// PortStats are one port's counters. In counts frames (of at least 14
// bytes) that entered from the port, Out frames the node sent to it; Drops
// counts frames lost on the way out (full host queue, full port mailbox,
// write errors).
type PortStats struct {
	Num                                    int
	Descr                                  string
	InFrames, InBytes, OutFrames, OutBytes uint64
	Drops                                  uint64
}
