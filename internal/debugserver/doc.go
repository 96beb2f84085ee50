// Package debugserver is the worker's opt-in debug listener (EVENTWORKER_DEBUG_ADDR): the
// net/http/pprof profiles under /debug/pprof/, and /debug/state, a JSON view of what the worker
// is doing (its consumers and the events each is handling, the processing leases it holds, the
// consumers' circuits) and of its configuration, passwords redacted. `eventworker inspect`
// reads /debug/state.
//
// The routes are on a mux of their own, never on http.DefaultServeMux (which importing
// net/http/pprof fills, and which nothing in the worker serves), and never on the metrics
// listener: profiles and the events' IDs are for whoever operates the worker, so the listener
// belongs on the loopback interface or a port that only a port-forward reaches.
package debugserver
