package app

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"go.opentelemetry.io/otel"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/internal/tracing/otlp"
	"github.com/eventworker/eventworker/internal/version"
)

// exportErrorEvery bounds how often a failing span export is logged: the batch processor
// tries every few seconds while the collector is down.
const exportErrorEvery = time.Minute

// StartTracing sets tracing up as the OTEL_* variables say (see otlp.FromEnv) and says so in
// the log. OpenTelemetry's own errors, such as a collector that cannot be reached, join the
// JSON log as warnings, at most one a minute: lost spans never stop the worker.
func StartTracing(ctx context.Context, log *slog.Logger) (*otlp.Tracing, error) {
	// First, so that what the SDK says while it is set up joins the JSON log too.
	var mu sync.Mutex
	var last time.Time
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) < exportErrorEvery {
			return
		}
		last = time.Now()
		log.Warn("tracing: OpenTelemetry reported an error; spans may be lost (at most one such line a minute)", "error", err.Error())
	}))
	otel.SetLogger(logr.FromSlogHandler(log.Handler()))
	t, err := otlp.FromEnv(ctx, os.Getenv, version.Current())
	if err != nil {
		return nil, err
	}
	if t.Enabled {
		log.Info("tracing on: spans are exported over OTLP", "endpoint", t.Endpoint, "protocol", t.Protocol)
	}
	return t, nil
}

// stopTracing flushes the spans still buffered, within what Serve left of the exit's margin
// (half of it after no Serve).
func (a *App) stopTracing(log *slog.Logger) {
	by := a.stopBy
	if by.IsZero() {
		by = time.Now().Add(config.ExitMargin / 2)
	}
	ctx, cancel := context.WithDeadline(context.Background(), by)
	defer cancel()
	if err := a.Tracing.Shutdown(ctx); err != nil {
		log.Warn("tracing: the last spans were not all exported", "error", err.Error())
	}
}
