package cache

import "github.com/prometheus/client_golang/prometheus"

// Values of the op label of eventworker_cache_errors_total: one per Cache method that talks
// to Redis, a bounded set.
const (
	OpGet               = "get"
	OpSet               = "set"
	OpDelete            = "delete"
	OpPurge             = "purge"
	OpRefreshProduct    = "refresh_product"
	OpPurgeTenant       = "purge_tenant"
	OpDropUser          = "drop_user"
	OpProductGeneration = "product_generation"
)

// AllOps returns every value of the op label.
func AllOps() []string {
	return []string{OpGet, OpSet, OpDelete, OpPurge, OpRefreshProduct, OpPurgeTenant, OpDropUser, OpProductGeneration}
}

// Metrics holds the cache's counters. Its fields are safe for concurrent use, and a nil
// *Metrics counts nothing.
type Metrics struct {
	// Hits counts GetJSON calls that found and decoded a value.
	Hits prometheus.Counter
	// Misses counts GetJSON calls that returned found=false: absent keys, and reads that
	// failed (also counted in Errors).
	Misses prometheus.Counter
	// Errors counts failed operations by op (the Op* constants), including reads that
	// degraded to a miss.
	Errors *prometheus.CounterVec
	// KeysPurged counts keys removed by Purge and PurgeTenant.
	KeysPurged prometheus.Counter
}

// NewMetrics builds the cache's metrics and registers them with reg; nil reg registers
// nothing. Every op label starts at 0. It panics if reg already holds metrics of the same
// names, as prometheus.MustRegister does.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Hits: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "eventworker", Subsystem: "cache", Name: "hits_total",
			Help: "Cache reads (GetJSON) that found and decoded a value.",
		}),
		Misses: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "eventworker", Subsystem: "cache", Name: "misses_total",
			Help: "Cache reads (GetJSON) that found no usable value: absent, undecodable, or Redis failed.",
		}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "eventworker", Subsystem: "cache", Name: "errors_total",
			Help: "Failed cache operations by op, including reads that degraded to a miss.",
		}, []string{"op"}),
		KeysPurged: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "eventworker", Subsystem: "cache", Name: "keys_purged_total",
			Help: "Keys removed from Redis by pattern purges (Purge, PurgeTenant).",
		}),
	}
	for _, op := range AllOps() {
		m.Errors.WithLabelValues(op)
	}
	if reg != nil {
		reg.MustRegister(m.Hits, m.Misses, m.Errors, m.KeysPurged)
	}
	return m
}

func (m *Metrics) hit() {
	if m != nil {
		m.Hits.Inc()
	}
}

func (m *Metrics) miss() {
	if m != nil {
		m.Misses.Inc()
	}
}

func (m *Metrics) failed(op string) {
	if m != nil {
		m.Errors.WithLabelValues(op).Inc()
	}
}

func (m *Metrics) purged(n int64) {
	if m != nil && n > 0 {
		m.KeysPurged.Add(float64(n))
	}
}
