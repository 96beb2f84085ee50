package app

import (
	"context"
	"net"

	"github.com/eventworker/eventworker/internal/debugserver"
)

// startDebug starts the debug listener when EVENTWORKER_DEBUG_ADDR is set (profiles and the
// worker's state, for `eventworker inspect`); stop shuts it down, after the worker, so that a
// drain can be watched to its end. With the setting empty nothing listens: srv is nil and stop
// does nothing.
func (a *App) startDebug(ctx context.Context) (srv *debugserver.Server, stop func(context.Context), err error) {
	if a.Config.DebugAddr == "" {
		return nil, func(context.Context) {}, nil
	}
	srv = debugserver.New(a.Config.DebugAddr, a.Worker, a.Config.Redacted())
	if err := srv.Start(ctx); err != nil {
		return nil, nil, err
	}
	log := a.Logger.With("debug_addr", srv.Addr())
	if loopback(a.Config.DebugAddr) {
		log.Info("debug listener started: /debug/pprof/ and /debug/state")
	} else {
		log.Warn("debug listener started on an address other hosts may reach: it serves profiles and the IDs of the events being handled to anyone who connects; bind it to 127.0.0.1 unless only a port-forward reaches this one")
	}
	return srv, func(ctx context.Context) {
		// A profile being taken is cut short when ctx ends: the process is about to exit.
		if err := srv.Shutdown(ctx); err != nil {
			a.Logger.Warn("debug listener shutdown", "error", err.Error())
		}
	}, nil
}

// loopback reports whether addr's host is a loopback address or localhost.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
