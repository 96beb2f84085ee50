package health

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"
)

// serveReady answers /readyz. While draining it runs no check: the answer is known, and a
// shutting-down worker should not load its dependencies with probes.
func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		s.report(false)
		writeText(w, http.StatusServiceUnavailable, "draining: shutting down\n")
		return
	}
	failures := s.runChecks(r.Context())
	s.report(len(failures) == 0)
	if len(failures) == 0 {
		writeText(w, http.StatusOK, s.readyText())
		return
	}
	var b strings.Builder
	for _, f := range failures {
		b.WriteString(f.line())
		b.WriteByte('\n')
	}
	writeText(w, http.StatusServiceUnavailable, b.String())
}

// readyText is the body of a 200 /readyz: "ready", then a line per check with a detail.
func (s *Server) readyText() string {
	var b strings.Builder
	b.WriteString("ready\n")
	for _, c := range s.checks {
		if c.Detail == nil {
			continue
		}
		if d := strings.Join(strings.Fields(c.Detail()), " "); d != "" {
			b.WriteString(c.Name + ": " + d + "\n")
		}
	}
	return b.String()
}

// runChecks runs every check concurrently, so /readyz takes at most one CheckTimeout, and
// returns the failures in the order the checks were given.
func (s *Server) runChecks(ctx context.Context) []checkResult {
	errs := make([]error, len(s.checks))
	var wg sync.WaitGroup
	for i, c := range s.checks {
		wg.Go(func() { errs[i] = c.run(ctx, s.CheckTimeout) })
	}
	wg.Wait()
	var failures []checkResult
	for i, err := range errs {
		if err != nil {
			failures = append(failures, checkResult{name: s.checks[i].Name, err: err})
		}
	}
	return failures
}

// report passes a readiness result to OnReady, if set.
func (s *Server) report(ready bool) {
	if s.OnReady != nil {
		s.OnReady(ready)
	}
}

// writeText writes a plain-text answer that no proxy may cache: probes want the current state.
func writeText(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}

// Watch runs the readiness checks every interval and reports each result to OnReady until ctx
// ends or the server drains, so the eventworker_ready gauge follows the worker's state even
// when nothing probes /readyz.
func (s *Server) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if s.draining.Load() {
			return
		}
		s.report(len(s.runChecks(ctx)) == 0 && !s.draining.Load())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
