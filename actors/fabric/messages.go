package fabric

import "github.com/govde/govde/transports"

// Messages the fabric actor accepts besides *frames.Batch (frames that
// entered from Batch.Port). Every control message is a pointer; replies go
// to the sender (use RequestFuture from outside an actor).
//
// Messages that could cross hosts later carry only plain values; the
// endpoint handles stay local to the host that owns the socket.

// AttachEndpoint asks for a port for a new endpoint. Reply: *Attached.
type AttachEndpoint struct {
	Endpoint transports.Endpoint
	ID       int    // endpoint id shown by port/print (the C switch uses an fd number)
	Module   string // "unix prog" for vde2 clients, "tuntap" for taps
	Descr    string
	UID      int  // connecting user, -1 unknown (bypasses access control on a free port)
	Port     int  // requested port, 0 = any
	Port0    bool // REQ_NEW_PORT0: the management port 0
}

// Attached answers AttachEndpoint.
type Attached struct {
	Port int
	Err  error
}

// DetachEndpoint removes an endpoint from its port (idempotent). The fabric
// closes the endpoint. Reply (when asked with a future): *Detached.
type DetachEndpoint struct {
	Endpoint transports.Endpoint
}

// Detached answers DetachEndpoint.
type Detached struct{ Port int }

// endpointGone is sent by an endpoint's reader goroutine when ReadBatch failed.
type endpointGone struct{ ep transports.Endpoint }

// GetStats asks for a snapshot of every port. Reply: *Stats.
type GetStats struct{}

// Stats is the reply to GetStats.
type Stats struct {
	NumPorts int
	Hub      bool
	Ports    []PortInfo // existing ports in ascending order
	MACs     int
}

// PortInfo is one port's state and counters.
type PortInfo struct {
	Num         int
	Active      bool
	Allocatable bool
	Untagged    uint16
	Tagged      []uint16
	User, Group int // -1 unset
	CurUser     int
	Endpoints   []EndpointInfo // newest first
	Counters    Counters
}

// EndpointInfo describes one endpoint of a port.
type EndpointInfo struct {
	ID     int
	Module string
	Descr  string
	UID    int
}

// Counters are a port's traffic counters. In and Out count frames of at
// least 14 bytes as vde_switch does (Out counts every send attempt); the
// Drop fields are govde's drop counters by reason.
type Counters struct {
	InPkts, InBytes, OutPkts, OutBytes uint64
	DropRunt                           uint64 // ingress frames shorter than 14 bytes
	DropVLAN                           uint64 // ingress tagged for a VLAN the port is not in, or no untagged VLAN
	DropBlocked                        uint64 // ingress on a port the spanning tree blocks
	DropQueue                          uint64 // egress batches' frames refused by a full port mailbox
	DropEndpoint                       uint64 // egress frames the endpoint could not take (socket full)
	DropError                          uint64 // egress frames lost to send errors
}

// GetTable asks for the MAC table rows (hash/print order). Reply: *TableDump.
type GetTable struct{}

// TableDump is the reply to GetTable.
type TableDump struct {
	Size    int
	Entries []Entry
}

// SetHub switches hub mode on or off. Reply: *Result.
type SetHub struct{ On bool }

// CreateVLAN, RemoveVLAN, SetPortVLAN, AddTagged, DelTagged change the VLAN
// configuration (vlan/create, vlan/remove, port/setvlan, vlan/addport,
// vlan/delport). Reply: *Result with a syscall.Errno as the console reports.
type (
	CreateVLAN  struct{ VLAN int }
	RemoveVLAN  struct{ VLAN int }
	SetPortVLAN struct{ Port, VLAN int }
	AddTagged   struct{ VLAN, Port int }
	DelTagged   struct{ VLAN, Port int }
)

// CreatePort creates an inactive, not-allocatable port (port/create).
// Reply: *Result.
type CreatePort struct{ Port int }

// Result is the reply to a configuration message.
type Result struct{ Err error }

// SetTableParams changes the MAC table parameters (hash/set*); zero fields
// are left alone except where noted. Reply: *Result.
type SetTableParams struct {
	Size                           int // >0: resize and flush
	GCInterval, Expire, MinPersist int // <0 means unchanged
}

// SetBlocked sets a port's spanning-tree state in a VLAN (true = Discarding).
// Sent by the FSTP actor. No reply.
type SetBlocked struct {
	VLAN    uint16
	Port    int
	Blocked bool
}
