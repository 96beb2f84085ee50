// Package health is the worker's one HTTP listener: /metrics for Prometheus, /healthz for
// liveness and /readyz for readiness.
//
// /healthz answers 200 while the process can serve HTTP at all; it never runs a check, so a
// slow dependency cannot get the worker killed. /readyz answers 200 only while the worker is
// not draining and every Check passes; the checks run concurrently, each within CheckTimeout.
// Otherwise it answers 503 with one "name: error" line per failing check.
//
// Check errors are shown to whoever can reach the port, as returned: a check must not return
// secrets (passwords in URLs, tokens) in its error.
package health
