package metrics_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/eventworker/eventworker/internal/metrics"
)

func newMetrics(t *testing.T) (*metrics.Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	return metrics.New(reg), reg
}

func TestNewCreatesNoLabelledSeries(t *testing.T) {
	m, _ := newMetrics(t)
	vecs := map[string]prometheus.Collector{
		"events_received": m.EventsReceived, "outcomes": m.Outcomes, "duration": m.HandlerDuration,
		"lag": m.Lag, "in_flight": m.InFlight, "dead_letters": m.DeadLetters, "build_info": m.BuildInfo,
	}
	for name, c := range vecs {
		if n := testutil.CollectAndCount(c); n != 0 {
			t.Errorf("%s has %d series before any use, want 0", name, n)
		}
	}
}

func TestInitConsumerCreatesZeroSeries(t *testing.T) {
	m, reg := newMetrics(t)
	m.InitConsumer("cache")
	m.InitConsumer("cache") // a second call changes nothing
	want := `
# HELP eventworker_handler_outcomes_total Deliveries by consumer and outcome (ok, retried, dead_lettered, duplicate, suppressed, invalid, renewed).
# TYPE eventworker_handler_outcomes_total counter
eventworker_handler_outcomes_total{consumer="cache",outcome="dead_lettered"} 0
eventworker_handler_outcomes_total{consumer="cache",outcome="duplicate"} 0
eventworker_handler_outcomes_total{consumer="cache",outcome="invalid"} 0
eventworker_handler_outcomes_total{consumer="cache",outcome="ok"} 0
eventworker_handler_outcomes_total{consumer="cache",outcome="renewed"} 0
eventworker_handler_outcomes_total{consumer="cache",outcome="retried"} 0
eventworker_handler_outcomes_total{consumer="cache",outcome="suppressed"} 0
# HELP eventworker_dead_letters_total Deliveries moved to a dead-letter queue, by class (permanent, exhausted, delivery_limit).
# TYPE eventworker_dead_letters_total counter
eventworker_dead_letters_total{class="delivery_limit",consumer="cache"} 0
eventworker_dead_letters_total{class="exhausted",consumer="cache"} 0
eventworker_dead_letters_total{class="permanent",consumer="cache"} 0
# HELP eventworker_in_flight Deliveries being processed.
# TYPE eventworker_in_flight gauge
eventworker_in_flight{consumer="cache"} 0
`
	err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"eventworker_handler_outcomes_total", "eventworker_dead_letters_total", "eventworker_in_flight")
	if err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.HandlerDuration); n != 1 {
		t.Errorf("handler duration series = %d, want 1", n)
	}
}

func TestCountsChange(t *testing.T) {
	tests := []struct {
		name   string
		act    func(*metrics.Metrics)
		metric func(*metrics.Metrics) prometheus.Collector
		want   float64
	}{
		{
			name: "events received",
			act:  func(m *metrics.Metrics) { m.EventsReceived.WithLabelValues("analytics", "order.created", "2").Add(2) },
			metric: func(m *metrics.Metrics) prometheus.Collector {
				return m.EventsReceived.WithLabelValues("analytics", "order.created", "2")
			},
			want: 2,
		},
		{
			name: "outcome ok",
			act: func(m *metrics.Metrics) {
				m.InitConsumer("notifications")
				m.Outcomes.WithLabelValues("notifications", metrics.OutcomeOK).Inc()
			},
			metric: func(m *metrics.Metrics) prometheus.Collector {
				return m.Outcomes.WithLabelValues("notifications", metrics.OutcomeOK)
			},
			want: 1,
		},
		{
			name: "in flight goes up and down",
			act: func(m *metrics.Metrics) {
				g := m.InFlight.WithLabelValues("cache")
				g.Inc()
				g.Inc()
				g.Dec()
			},
			metric: func(m *metrics.Metrics) prometheus.Collector { return m.InFlight.WithLabelValues("cache") },
			want:   1,
		},
		{
			name: "dead letters",
			act:  func(m *metrics.Metrics) { m.DeadLetters.WithLabelValues("cache", metrics.ClassExhausted).Inc() },
			metric: func(m *metrics.Metrics) prometheus.Collector {
				return m.DeadLetters.WithLabelValues("cache", metrics.ClassExhausted)
			},
			want: 1,
		},
		{
			name:   "ready",
			act:    func(m *metrics.Metrics) { m.SetReady(true) },
			metric: func(m *metrics.Metrics) prometheus.Collector { return m.Ready },
			want:   1,
		},
		{
			name:   "not ready again",
			act:    func(m *metrics.Metrics) { m.SetReady(true); m.SetReady(false) },
			metric: func(m *metrics.Metrics) prometheus.Collector { return m.Ready },
			want:   0,
		},
		{
			name: "build info",
			act:  func(m *metrics.Metrics) { m.SetBuildInfo("v1.2.3", "abc123", "go1.26.0") },
			metric: func(m *metrics.Metrics) prometheus.Collector {
				return m.BuildInfo.WithLabelValues("v1.2.3", "abc123", "go1.26.0")
			},
			want: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := newMetrics(t)
			tt.act(m)
			if got := testutil.ToFloat64(tt.metric(m)); got != tt.want {
				t.Errorf("value = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHistograms(t *testing.T) {
	m, reg := newMetrics(t)
	m.HandlerDuration.WithLabelValues("cache").Observe(0.02)
	m.ObserveLag("order.created", 1500*time.Millisecond)
	m.ObserveLag("order.created", -time.Minute) // clock skew counts as no lag
	tests := []struct {
		name        string
		count       uint64
		sum         float64
		le          float64 // a bucket bound the test checks
		cumulative  uint64  // observations at or below it
		lowest, top float64 // first and last bucket bounds
	}{
		{"eventworker_handler_duration_seconds", 1, 0.02, 0.025, 1, 0.001, 30},
		{"eventworker_event_lag_seconds", 2, 1.5, 1, 1, 0.001, 3600},
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, mf := range mfs {
				if mf.GetName() != tt.name {
					continue
				}
				hist := mf.GetMetric()[0].GetHistogram()
				if hist.GetSampleCount() != tt.count || hist.GetSampleSum() != tt.sum {
					t.Errorf("count, sum = %d, %v; want %d, %v", hist.GetSampleCount(), hist.GetSampleSum(), tt.count, tt.sum)
				}
				b := hist.GetBucket()
				if b[0].GetUpperBound() != tt.lowest || b[len(b)-1].GetUpperBound() != tt.top {
					t.Errorf("buckets span %v..%v, want %v..%v", b[0].GetUpperBound(), b[len(b)-1].GetUpperBound(), tt.lowest, tt.top)
				}
				for _, bk := range b {
					if bk.GetUpperBound() == tt.le && bk.GetCumulativeCount() != tt.cumulative {
						t.Errorf("bucket le=%v holds %d, want %d", tt.le, bk.GetCumulativeCount(), tt.cumulative)
					}
				}
				return
			}
			t.Errorf("%s not gathered", tt.name)
		})
	}
}

func TestSetBuildInfoKeepsOneSeries(t *testing.T) {
	m, _ := newMetrics(t)
	m.SetBuildInfo("v1", "r1", "go1.26.0")
	m.SetBuildInfo("v2", "r2", "go1.26.0")
	if n := testutil.CollectAndCount(m.BuildInfo); n != 1 {
		t.Errorf("build info series = %d, want 1", n)
	}
	if got := testutil.ToFloat64(m.BuildInfo.WithLabelValues("v2", "r2", "go1.26.0")); got != 1 {
		t.Errorf("build info = %v, want 1", got)
	}
}

func TestNewWithNilRegistererRegistersNothing(t *testing.T) {
	m := metrics.New(nil)
	m.Outcomes.WithLabelValues("cache", metrics.OutcomeOK).Inc() // usable all the same
	// Registering again elsewhere works: nothing holds the collectors.
	metrics.New(prometheus.NewRegistry())
}

func TestNewPanicsOnDoubleRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	metrics.New(reg)
	defer func() {
		if recover() == nil {
			t.Error("second New on the same registry did not panic")
		}
	}()
	metrics.New(reg)
}

func TestOldestInFlightIsAskedAtEachScrape(t *testing.T) {
	m, reg := newMetrics(t)
	if n, _ := testutil.GatherAndCount(reg, "eventworker_oldest_in_flight_seconds"); n != 0 {
		t.Errorf("%d series before a consumer is tracked, want 0", n)
	}
	age := time.Duration(0)
	m.TrackOldestInFlight("cache", func() time.Duration { return age })
	for _, want := range []time.Duration{0, 90 * time.Second, 0} {
		age = want
		exp := fmt.Sprintf(`
# HELP eventworker_oldest_in_flight_seconds Age of the oldest delivery the consumer's pipeline holds (waiting for a goroutine, paused, or being handled), from the moment the worker's router handed it over; 0 when it holds none.
# TYPE eventworker_oldest_in_flight_seconds gauge
eventworker_oldest_in_flight_seconds{consumer="cache"} %g
`, want.Seconds())
		if err := testutil.GatherAndCompare(reg, strings.NewReader(exp), "eventworker_oldest_in_flight_seconds"); err != nil {
			t.Error(err)
		}
	}
}

func TestAMQPConnectedNodeFollowsAFailover(t *testing.T) {
	m := metrics.New(prometheus.NewRegistry())
	m.InitAMQPNodes(metrics.ClientConsume, []string{"r1:5672", "r2:5672"})
	steps := []struct {
		node   string
		up     bool
		r1, r2 float64
	}{
		{"r1:5672", true, 1, 0},
		{"r1:5672", false, 0, 0},
		{"r2:5672", true, 0, 1},
	}
	for i, s := range steps {
		m.AMQPConnected(metrics.ClientConsume, s.node, s.up)
		r1 := testutil.ToFloat64(m.AMQPNode.WithLabelValues(metrics.ClientConsume, "r1:5672"))
		r2 := testutil.ToFloat64(m.AMQPNode.WithLabelValues(metrics.ClientConsume, "r2:5672"))
		if r1 != s.r1 || r2 != s.r2 {
			t.Errorf("step %d: r1=%g r2=%g, want %g %g", i, r1, r2, s.r1, s.r2)
		}
	}
}
