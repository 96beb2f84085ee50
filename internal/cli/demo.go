package cli

import (
	"context"

	"github.com/eventworker/eventworker/internal/demo"
)

const demoSummary = "Run the whole pipeline in this process with no outside service, and report"

const demoUsage = `Runs the worker's real pipeline with no outside service: Watermill's in-process GoChannel
instead of RabbitMQ, an embedded Redis (miniredis) behind the same go-redis code, and emails
written as .eml files to DIR/outbox. It publishes the registry's examples and a burst of
generated events through the publisher package, one invalid event and a tenant suspension,
waits until every consumer is idle after each step, and prints per consumer what happened:
emails written, cache keys refreshed and purged, derived events, tenant profiles, counters,
dead letters, and a summary of the metrics.

It exits 0 when every expectation of the demo held, 1 otherwise (each failure named). The
worker's JSON logs go to DIR/worker.log. EVENTWORKER_* variables are not read: the demo is
the same everywhere.`

// runDemo runs the demo.
func runDemo(ctx context.Context, e *env, path string, args []string) int {
	f := newFlags(path, "Usage: "+path+" [--dir DIR] [--keep-running] [--http-addr ADDR] [--verbose]\n\n"+demoUsage)
	dir := f.String("dir", "", "work `DIR` for the outbox and the log (default: a new temporary directory, kept)")
	keep := f.Bool("keep-running", false, "keep the worker and /metrics up after the report, until SIGINT or SIGTERM")
	addr := f.String("http-addr", demo.DefaultHTTPAddr, "listen `ADDR` of /metrics, /healthz and /readyz; when taken, a free port is used")
	verbose := f.Bool("verbose", false, "send the worker's JSON logs to stderr instead of DIR/worker.log")
	if status, ok := f.parseFlagsOnly(e, args); !ok {
		return status
	}
	opts := demo.Options{Out: e.stdout, Dir: *dir, KeepRunning: *keep, HTTPAddr: *addr}
	if *verbose {
		opts.Logger = newLogger(e, "debug")
	}
	if err := demo.Run(ctx, opts); err != nil {
		return e.fail(path, err)
	}
	return exitOK
}
