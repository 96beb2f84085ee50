package health

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/eventworker/eventworker/internal/httplisten"
)

// DefaultCheckTimeout bounds each readiness check unless CheckTimeout is changed.
const DefaultCheckTimeout = time.Second

// Server serves /metrics, /healthz and /readyz. Set its exported fields before Start or the
// first request; its methods are safe for concurrent use.
type Server struct {
	// OnReady, if set, receives every /readyz result, and false on SetDraining and Shutdown,
	// e.g. to mirror readiness in a gauge. Concurrent probes call it concurrently.
	OnReady func(ready bool)
	// CheckTimeout bounds each check of /readyz; New sets DefaultCheckTimeout.
	CheckTimeout time.Duration

	checks   []Check
	handler  http.Handler
	draining atomic.Bool
	ln       *httplisten.Listener
}

// New returns a server that will listen on addr (host:port, e.g. ":9090"), expose gatherer's
// metrics and be ready while every check passes.
func New(addr string, gatherer prometheus.Gatherer, checks ...Check) *Server {
	s := &Server{CheckTimeout: DefaultCheckTimeout, checks: checks, ln: httplisten.New(addr)}
	mux := http.NewServeMux()
	// OpenMetrics when the scraper asks for it: only that format carries the exemplars that
	// tie a latency to its trace.
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", s.serveReady)
	s.handler = mux
	return s
}

// Handler returns the server's routes, for tests and for mounting elsewhere.
func (s *Server) Handler() http.Handler { return s.handler }

// SetDraining makes /readyz answer 503 from now on, so load balancers and orchestrators stop
// counting on this worker while it finishes its work. /healthz and /metrics keep serving.
func (s *Server) SetDraining() {
	s.draining.Store(true)
	s.report(false)
}

// Start listens on the server's address and serves in a goroutine until Shutdown. ctx bounds
// only the listening: cancelling it later does not stop the server, so probes and scrapes can
// watch a drain to its end. A taken port is an error naming the address.
func (s *Server) Start(ctx context.Context) error {
	// WriteTimeout leaves room for /readyz's checks and a large /metrics answer.
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      s.CheckTimeout + 30*time.Second,
		IdleTimeout:       60 * time.Second,
	}
	if err := s.ln.Start(ctx, srv); err != nil {
		if errors.Is(err, httplisten.ErrAlreadyStarted) {
			return ErrAlreadyStarted
		}
		return fmt.Errorf("listen for /metrics, /healthz and /readyz on %s: %w", s.ln.Addr(), err)
	}
	return nil
}

// Addr returns the address the server listens on once started (with the port chosen for
// ":0"), else the configured address.
func (s *Server) Addr() string { return s.ln.Addr() }

// Shutdown marks the server draining, stops accepting connections and waits, within ctx, for
// the requests in progress. It returns an error if ctx ended first or if serving had failed.
// Shutdown of a server never started, or already shut down, returns nil.
func (s *Server) Shutdown(ctx context.Context) error {
	s.SetDraining()
	if err := s.ln.Shutdown(ctx); err != nil {
		return fmt.Errorf("the HTTP server on %s: %w", s.ln.Addr(), err)
	}
	return nil
}
