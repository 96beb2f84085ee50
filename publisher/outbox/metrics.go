package outbox

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the relay's Prometheus metrics.
type metrics struct {
	waiting   prometheus.Gauge
	oldestAge prometheus.Gauge
	published prometheus.Counter
	failures  *prometheus.CounterVec
}

// newMetrics builds the metrics and registers them with reg, when there is one.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		waiting: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "eventworker_outbox_rows_waiting",
			Help: "Committed outbox rows not yet sent, as of the relay's last look.",
		}),
		oldestAge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "eventworker_outbox_oldest_waiting_age_seconds",
			Help: "Age of the oldest outbox row not yet sent, as of the relay's last look; 0 when none waits.",
		}),
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eventworker_outbox_published_total",
			Help: "Outbox rows sent to the broker with a publisher confirm and marked sent.",
		}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eventworker_outbox_failures_total",
			Help: "Relay failures by stage: publish (the broker), database, cleanup.",
		}, []string{"stage"}),
	}
	for _, s := range []string{stagePublish, stageDatabase, stageCleanup} {
		m.failures.WithLabelValues(s)
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.waiting, m.oldestAge, m.published, m.failures} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// The stages of the failures metric.
const (
	stagePublish  = "publish"
	stageDatabase = "database"
	stageCleanup  = "cleanup"
)

// observe sets the gauges of waiting rows and returns how many wait; a failure leaves the
// gauges as they were and returns 0.
func (r *Relay) observe(ctx context.Context) int64 {
	var n int64
	var age float64
	err := r.pool.QueryRow(ctx, `SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8
FROM `+Table+` WHERE sent_at IS NULL`).Scan(&n, &age)
	if err != nil {
		return 0
	}
	r.m.waiting.Set(float64(n))
	r.m.oldestAge.Set(age)
	return n
}
