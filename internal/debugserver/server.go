package debugserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"time"

	"github.com/eventworker/eventworker/internal/httplisten"
	"github.com/eventworker/eventworker/internal/version"
	"github.com/eventworker/eventworker/internal/worker"
)

// ErrAlreadyStarted is returned by a second Start.
var ErrAlreadyStarted = fmt.Errorf("debug listener %w", httplisten.ErrAlreadyStarted)

// StateSource is what the listener shows the state of: a *worker.Worker.
type StateSource interface {
	State() worker.State
}

// Server is the debug listener. Its methods are safe for concurrent use.
type Server struct {
	src     StateSource
	config  map[string]string
	started time.Time
	handler http.Handler
	ln      *httplisten.Listener
}

// New returns a listener for addr (host:port) that shows src's state and config, the
// configuration as it may be shown (config.Config.Redacted: passwords redacted).
func New(addr string, src StateSource, config map[string]string) *Server {
	s := &Server{src: src, config: config, started: time.Now(), ln: httplisten.New(addr)}
	mux := http.NewServeMux()
	// net/http/pprof's handlers, on this mux: /debug/pprof/ lists the profiles and serves each
	// by name (heap, goroutine, allocs, block, mutex, threadcreate).
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /debug/state", s.serveState)
	s.handler = mux
	return s
}

// Handler returns the listener's routes.
func (s *Server) Handler() http.Handler { return s.handler }

// Document returns the state /debug/state shows now.
func (s *Server) Document() Document {
	now := time.Now()
	st := s.src.State()
	host, _ := os.Hostname()
	return Document{
		Version: version.Current(), Revision: version.Revision(), GoVersion: runtime.Version(),
		Host: host, PID: os.Getpid(), Now: now.UTC(), StartedAt: s.started.UTC(), UptimeSeconds: seconds(now.Sub(s.started)),
		Goroutines: runtime.NumGoroutine(), Running: st.Running, ShuttingDown: st.ShuttingDown,
		Consumers: consumersOf(st), Leases: leasesOf(st), Config: s.config,
	}
}

func (s *Server) serveState(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(s.Document()) // a client gone away is nobody's problem
}

// Start listens on the listener's address and serves in a goroutine until Shutdown. A taken
// port is an error naming the address and the setting.
func (s *Server) Start(ctx context.Context) error {
	// No write timeout: a CPU profile or trace answers after the seconds it was asked for
	// (pprof refuses a duration beyond the server's WriteTimeout).
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 60 * time.Second}
	if err := s.ln.Start(ctx, srv); err != nil {
		if errors.Is(err, httplisten.ErrAlreadyStarted) {
			return ErrAlreadyStarted
		}
		return fmt.Errorf("EVENTWORKER_DEBUG_ADDR: listen for /debug/pprof/ and /debug/state on %s: %w", s.ln.Addr(), err)
	}
	return nil
}

// Addr returns the address the listener listens on once started (with the port chosen for
// ":0"), else the configured address.
func (s *Server) Addr() string { return s.ln.Addr() }

// Shutdown stops accepting connections and waits, within ctx, for the requests in progress;
// then it closes those still open (a profile being taken). Shutdown of a listener never
// started, or already shut down, returns nil.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.ln.Shutdown(ctx); err != nil {
		return fmt.Errorf("the debug listener: %w", err)
	}
	return nil
}
