package app

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/internal/localtransport"
)

// TestBacklogPollerOnlyOverRabbitMQ checks where New builds the poller of the queues' depth:
// over RabbitMQ unless EVENTWORKER_BACKLOG_INTERVAL is 0, never over the in-process transport
// of the demo, which has no broker to read.
func TestBacklogPollerOnlyOverRabbitMQ(t *testing.T) {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	tests := []struct {
		name     string
		interval string
		local    bool
		want     bool
	}{
		{"RabbitMQ, default interval", "", false, true},
		{"RabbitMQ, turned off", "0", false, false},
		{"in-process transport", "", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Load(func(k string) string {
				if k == "EVENTWORKER_BACKLOG_INTERVAL" {
					return tt.interval
				}
				return ""
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			var opts []Option
			if tt.local {
				opts = append(opts, WithTransport(localtransport.New(log)))
			}
			a, err := New(context.Background(), cfg, log, opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if got := a.Backlog != nil; got != tt.want {
				t.Fatalf("poller built: %v, want %v", got, tt.want)
			}
			if tt.want && a.Backlog.Interval() != cfg.BacklogInterval {
				t.Errorf("poller interval %s, want %s", a.Backlog.Interval(), cfg.BacklogInterval)
			}
			// Its metrics are on the registry /metrics serves exactly when it exists.
			mfs, err := a.Prometheus.Gather()
			if err != nil {
				t.Fatal(err)
			}
			registered := false
			for _, mf := range mfs {
				if mf.GetName() == "eventworker_queue_poll_errors_total" {
					registered = true
				}
			}
			if registered != tt.want {
				t.Errorf("eventworker_queue_poll_errors_total served: %v, want %v", registered, tt.want)
			}
		})
	}
}

// TestNewThatFailsReleasesWhatItOpened checks that a New failing after it opened the Redis
// client and the RabbitMQ publishers returns its error instead of panicking in its clean-up.
func TestNewThatFailsReleasesWhatItOpened(t *testing.T) {
	cfg := config.Default()
	cfg.TemplateDir = filepath.Join(t.TempDir(), "missing")
	a, err := New(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err == nil || a != nil {
		t.Fatalf("New with a missing template directory: %v, %v; want an error and no App", a, err)
	}
}
