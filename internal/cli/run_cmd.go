package cli

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/internal/app"
	"github.com/eventworker/eventworker/internal/logging"
)

const runUsage = `Runs the worker: one durable queue per consumer of the registry, bound to the events exchange
with the routing keys registry.yaml maps to it; retries, dead letters, idempotency, and one HTTP
listener with /metrics, /healthz and /readyz. Stops gracefully on SIGTERM or SIGINT.

Configuration comes from EVENTWORKER_* environment variables (secrets also from *_FILE);
flags override them. 'eventworker config' prints the effective configuration.`

// runRun starts the daemon.
func runRun(ctx context.Context, e *env, path string, args []string) int {
	f := newFlags(path, "Usage: "+path+" [flags]\n\n"+runUsage)
	config.RegisterFlags(f.FlagSet)
	if status, ok := f.parseFlagsOnly(e, args); !ok {
		return status
	}
	cfg, err := e.loadConfig(f.FlagSet, app.Check)
	if err != nil {
		return e.fail(path, err)
	}
	log := newLogger(e, cfg.LogLevel)
	app.TuneGC(e.getenv)
	done := make(chan struct{})
	defer close(done)
	go exitAfterDeadline(ctx, done, cfg.ShutdownTimeout+config.ExitMargin, log, e)
	if err := app.Run(ctx, cfg, log); err != nil {
		log.Error("eventworker stopped", "error", err.Error())
		return e.fail(path, err)
	}
	return exitOK
}

// exitAfterDeadline ends the process limit after ctx ends (the shutdown signal) unless done is
// closed first: whatever RabbitMQ, Redis or the mail relay do, a shutdown takes no longer than
// its deadline and a small margin. What the process still held goes back to its queues.
func exitAfterDeadline(ctx context.Context, done <-chan struct{}, limit time.Duration, log *slog.Logger, e *env) {
	select {
	case <-ctx.Done():
	case <-done:
		return
	}
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-t.C:
		log.Error("the shutdown outlasted its deadline; exiting now, and what this worker still held goes back to its queues",
			"limit", limit.String())
		e.exit(exitFail)
	case <-done:
	}
}

// newLogger returns the slog JSON logger every command that logs uses, on stderr.
func newLogger(e *env, level string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(strings.ToUpper(level)))
	w := e.stderr
	if w == nil {
		w = os.Stderr
	}
	return logging.New(w, lv)
}
