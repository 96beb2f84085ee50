package app

import (
	"crypto/tls"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/internal/backlog"
	"github.com/eventworker/eventworker/registry"
)

// newBacklog builds the poller of the queues' depth for a worker on RabbitMQ, with its metrics
// registered in reg; nil when EVENTWORKER_BACKLOG_INTERVAL is 0.
func newBacklog(cfg *config.Config, reg *registry.Registry, tlsConf *tls.Config, prom prometheus.Registerer, log *slog.Logger, consuming func() bool, observe func(string, bool)) (*backlog.Poller, error) {
	if cfg.BacklogInterval <= 0 {
		return nil, nil
	}
	p, err := backlog.New(backlog.Config{
		URL: cfg.AMQPURL, TLS: tlsConf, Interval: cfg.BacklogInterval, Observe: observe,
		// A poll that takes longer than the interval is a broker in trouble.
		Timeout: min(cfg.BacklogInterval, backlog.DefaultTimeout),
		Queues:  backlog.QueuesOf(cfg.QueuePrefix, reg.Consumers(), cfg.RetryDelays),
		Metrics: backlog.NewMetrics(prom), Logger: log.With("component", "backlog"), Consuming: consuming,
	})
	if err != nil {
		return nil, fmt.Errorf("EVENTWORKER_BACKLOG_INTERVAL: %w", err)
	}
	return p, nil
}
