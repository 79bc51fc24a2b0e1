// Package vswitch assembles a switch from actors: one fabric actor, a
// worker pool for its port actors, and the vde2 control socket whose
// clients become endpoints on ports. It is what `vde switch` runs and what
// tests use to stand a switch up in-process.
package vswitch

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/govde/govde/actors/dispatch"
	"github.com/govde/govde/actors/fabric"
	"github.com/govde/govde/actors/port"
	"github.com/govde/govde/transports"
	"github.com/govde/govde/transports/vde2"
)

// askTimeout bounds every control request to the fabric.
const askTimeout = 5 * time.Second

// Switch is a running switch.
type Switch struct {
	Sys    *actor.ActorSystem
	Fabric *actor.PID
	pool   *dispatch.Pool
	srv    *vde2.Server
	logf   func(string, ...any)
}

// NewSystem returns an actor system whose own log output is discarded:
// govde reports through its own log lines.
func NewSystem() *actor.ActorSystem {
	return actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
}

// New starts a switch fabric with cfg (no sockets yet).
func New(cfg fabric.Config) *Switch {
	s := &Switch{Sys: NewSystem(), logf: cfg.Logf}
	if s.logf == nil {
		s.logf = func(string, ...any) {}
	}
	if cfg.PortPool == nil && os.Getenv("GOVDE_EGRESS_POOL") != "" {
		// benchmarking aid: pipeline egress on a worker pool
		s.pool = port.NewPool(runtime.GOMAXPROCS(0))
		cfg.PortPool = s.pool
	}
	s.Fabric = fabric.New(s.Sys, cfg)
	return s
}

// Listen opens the vde2 control socket and serves it in the background.
func (s *Switch) Listen(cfg vde2.ServerConfig) error {
	srv, err := vde2.Listen(cfg, attacher{s}, s.logf)
	if err != nil {
		return err
	}
	s.srv = srv
	go srv.Serve()
	return nil
}

// Server returns the vde2 server (nil before Listen).
func (s *Switch) Server() *vde2.Server { return s.srv }

// Ask sends a control message to the fabric and waits for the reply.
func (s *Switch) Ask(msg any) (any, error) {
	return s.Sys.Root.RequestFuture(s.Fabric, msg, askTimeout).Result()
}

// AttachEndpoint puts ep on a port (see fabric.AttachEndpoint).
func (s *Switch) AttachEndpoint(m *fabric.AttachEndpoint) (int, error) {
	r, err := s.Ask(m)
	if err != nil {
		return -1, err
	}
	a := r.(*fabric.Attached)
	return a.Port, a.Err
}

// DetachEndpoint removes ep from its port and closes it.
func (s *Switch) DetachEndpoint(ep transports.Endpoint) {
	s.Ask(&fabric.DetachEndpoint{Endpoint: ep})
}

// Stats returns a snapshot of the ports.
func (s *Switch) Stats() (*fabric.Stats, error) {
	r, err := s.Ask(&fabric.GetStats{})
	if err != nil {
		return nil, err
	}
	return r.(*fabric.Stats), nil
}

// Close stops the control socket (removing its files), every endpoint, the
// actors and the worker pool.
func (s *Switch) Close() {
	if s.srv != nil {
		s.srv.Close()
	}
	s.Sys.Root.StopFuture(s.Fabric).Wait()
	s.Sys.Shutdown()
	if s.pool != nil {
		s.pool.Stop()
	}
}

// attacher adapts the switch to vde2.Attacher.
type attacher struct{ s *Switch }

func (a attacher) Attach(req vde2.Request, ep *vde2.Endpoint) (int, error) {
	m := &fabric.AttachEndpoint{Endpoint: ep, ID: ep.CtlID(), Module: "unix prog", Descr: req.Descr,
		UID: req.UID, Port: req.Port, Port0: req.Type == vde2.ReqNewPort0}
	p, err := a.s.AttachEndpoint(m)
	if err != nil {
		return -1, fmt.Errorf("port %d: %w", req.Port, err)
	}
	return p, nil
}

func (a attacher) Detach(ep *vde2.Endpoint) { a.s.DetachEndpoint(ep) }
