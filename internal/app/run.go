package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/internal/health"
	"github.com/eventworker/eventworker/internal/mailer"
	"github.com/eventworker/eventworker/internal/version"
	"github.com/eventworker/eventworker/registry"
)

// Run builds the worker with New and runs it with its HTTP listener (/metrics, /healthz,
// /readyz), blocking until ctx ends (SIGTERM or SIGINT) and the worker has shut down
// gracefully.
func Run(ctx context.Context, cfg *config.Config, log *slog.Logger, opts ...Option) error {
	a, err := New(ctx, cfg, log, opts...)
	if err != nil {
		return err
	}
	defer a.Close()
	return a.Serve(ctx)
}

// Serve runs the worker with its HTTP listener, and the debug listener when
// EVENTWORKER_DEBUG_ADDR is set, until ctx ends and the worker has shut down.
func (a *App) Serve(ctx context.Context) error {
	cfg, log, m := a.Config, a.Logger, a.Metrics
	_, stopDebug, err := a.startDebug(ctx)
	if err != nil {
		return err
	}
	srv := health.New(cfg.HTTPAddr, a.Prometheus,
		health.Check{Name: "rabbitmq", Fn: a.Worker.Ready, Detail: a.rabbitDetail},
		health.Check{Name: "redis", Fn: a.RedisReady},
	)
	srv.OnReady = func(ready bool) { m.Ready.Set(boolFloat(ready)) }
	if err := srv.Start(ctx); err != nil {
		stopDebug(context.Background())
		return err
	}
	// Keep eventworker_ready current when nothing probes /readyz.
	go srv.Watch(ctx, 10*time.Second)
	backlogDone := make(chan struct{})
	if a.Backlog != nil {
		go func() { defer close(backlogDone); a.Backlog.Run(ctx) }()
	} else {
		close(backlogDone)
	}
	log.Info("eventworker starting", "version", version.Current(), "http_addr", cfg.HTTPAddr,
		"queue_prefix", cfg.QueuePrefix, "consumers", strings.Join(a.Registry.Consumers(), ","))

	// Readiness turns false the moment shutdown begins, before consumption stops; the
	// listener itself goes last, so probes and scrapes see the drain.
	stop := context.AfterFunc(ctx, srv.SetDraining)
	defer stop()
	runErr := a.Worker.Run(ctx)
	// The shutdown's deadline is past or near: what is left to stop (the listeners, the
	// poller, then Close's flush of the last spans) shares three quarters of the exit's margin.
	a.stopBy = time.Now().Add(config.ExitMargin * 3 / 4)
	stopCtx, cancel := context.WithDeadline(context.Background(), a.stopBy)
	defer cancel()
	if err := srv.Shutdown(stopCtx); err != nil {
		log.Warn("http shutdown", "error", err.Error())
	}
	stopDebug(stopCtx)
	select {
	case <-backlogDone:
	case <-stopCtx.Done():
	}
	return runErr
}

// rabbitDetail names the RabbitMQ node the worker consumes from, for a ready /readyz.
func (a *App) rabbitDetail() string {
	if node, ok := a.Worker.Node(); ok {
		return "consuming on node " + node
	}
	return ""
}

// MailFrom parses EVENTWORKER_MAIL_FROM.
func MailFrom(raw string) (mailer.Address, error) {
	a, err := mail.ParseAddress(raw)
	if err != nil {
		return mailer.Address{}, fmt.Errorf("EVENTWORKER_MAIL_FROM %q: %w", raw, err)
	}
	return mailer.Address{Name: a.Name, Email: a.Address}, nil
}

// LoadRegistry loads the embedded registry, or the file named in EVENTWORKER_REGISTRY_FILE.
func LoadRegistry(path string) (*registry.Registry, error) {
	if path == "" {
		return registry.Default()
	}
	return registry.LoadFile(path)
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
