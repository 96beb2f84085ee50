package debugserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/eventworker/eventworker/internal/version"
	"github.com/eventworker/eventworker/internal/worker"
)

// ErrAlreadyStarted is returned by a second Start.
var ErrAlreadyStarted = errors.New("debug listener already started")

// StateSource is what the listener shows the state of: a *worker.Worker.
type StateSource interface {
	State() worker.State
}

// Server is the debug listener. Its methods are safe for concurrent use.
type Server struct {
	addr    string
	src     StateSource
	config  map[string]string
	started time.Time
	handler http.Handler

	mu     sync.Mutex
	srv    *http.Server
	ln     net.Listener
	served chan error
}

// New returns a listener for addr (host:port) that shows src's state and config, the
// configuration as it may be shown (config.Config.Redacted: passwords redacted).
func New(addr string, src StateSource, config map[string]string) *Server {
	s := &Server{addr: addr, src: src, config: config, started: time.Now()}
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
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return ErrAlreadyStarted
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.addr)
	if err != nil {
		return fmt.Errorf("EVENTWORKER_DEBUG_ADDR: listen for /debug/pprof/ and /debug/state on %s: %w", s.addr, err)
	}
	// No write timeout: a CPU profile or trace answers after the seconds it was asked for
	// (pprof refuses a duration beyond the server's WriteTimeout).
	s.srv = &http.Server{Handler: s.handler, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 60 * time.Second}
	s.ln = ln
	s.served = make(chan error, 1)
	go func(srv *http.Server, served chan<- error) {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		served <- err
	}(s.srv, s.served)
	return nil
}

// Addr returns the address the listener listens on once started (with the port chosen for
// ":0"), else the configured address.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return s.ln.Addr().String()
	}
	return s.addr
}

// Shutdown stops accepting connections and waits, within ctx, for the requests in progress;
// then it closes those still open (a profile being taken). Shutdown of a listener never
// started, or already shut down, returns nil.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	srv, served := s.srv, s.served
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	if err := srv.Shutdown(ctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shut down the debug listener: %w", err)
	}
	if err := <-served; err != nil {
		return fmt.Errorf("serve the debug listener: %w", err)
	}
	return nil
}
