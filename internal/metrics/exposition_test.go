package metrics_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/eventworker/eventworker/internal/metrics"
	"github.com/eventworker/eventworker/internal/testenv"
)

// exercise touches every metric, as a worker with two consumers would.
func exercise(m *metrics.Metrics) {
	m.SetBuildInfo("v0.1.0", "0123abc", "go1.26.0")
	m.SetReady(true)
	for _, c := range []string{"notifications", "cache"} {
		m.InitConsumer(c)
		m.Outcomes.WithLabelValues(c, metrics.OutcomeOK).Inc()
		m.DeadLetters.WithLabelValues(c, metrics.ClassPermanent).Inc()
		m.HandlerDuration.WithLabelValues(c).Observe(0.004)
		m.InFlight.WithLabelValues(c).Inc()
	}
	m.EventsReceived.WithLabelValues("notifications", "order.created", "1").Inc()
	m.EventsReceived.WithLabelValues("notifications", "order.created", "2").Inc()
	m.Lag.WithLabelValues("order.created").Observe(0.2)
	m.TrackOldestInFlight("notifications", func() time.Duration { return 1500 * time.Millisecond })
	for _, c := range metrics.AllClients() {
		m.InitAMQPNodes(c, []string{"rabbit-1:5672", "rabbit-2:5672"})
		m.AMQPConnected(c, "rabbit-2:5672", true)
	}
}

// TestLabelsAreBounded checks that every eventworker_ series is labelled only with the known
// bounded names, and that fixed-value labels hold only their constants.
func TestLabelsAreBounded(t *testing.T) {
	m, reg := newMetrics(t)
	exercise(m)
	allowed := map[string][]string{
		"eventworker_events_received_total":    {"consumer", "event_type", "version"},
		"eventworker_handler_outcomes_total":   {"consumer", "outcome"},
		"eventworker_handler_duration_seconds": {"consumer"},
		"eventworker_event_lag_seconds":        {"event_type"},
		"eventworker_in_flight":                {"consumer"},
		"eventworker_consumer_paused":          {"consumer"},
		"eventworker_dead_letters_total":       {"class", "consumer"},
		"eventworker_ready":                    nil,
		"eventworker_build_info":               {"goversion", "revision", "version"},
		"eventworker_oldest_in_flight_seconds": {"consumer"},
		"eventworker_amqp_connected_node":      {"client", "node"},
	}
	fixed := map[string][]string{"outcome": metrics.AllOutcomes(), "class": metrics.AllClasses(), "client": metrics.AllClients()}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	seen := 0
	for _, mf := range mfs {
		want, ok := allowed[mf.GetName()]
		if !ok {
			t.Errorf("unexpected metric %s", mf.GetName())
			continue
		}
		seen++
		for _, s := range mf.GetMetric() {
			var names []string
			for _, lp := range s.GetLabel() {
				names = append(names, lp.GetName())
				if vals, ok := fixed[lp.GetName()]; ok && !slices.Contains(vals, lp.GetValue()) {
					t.Errorf("%s: %s=%q is not one of %v", mf.GetName(), lp.GetName(), lp.GetValue(), vals)
				}
			}
			slices.Sort(names)
			if !slices.Equal(names, want) {
				t.Errorf("%s labels = %v, want %v", mf.GetName(), names, want)
			}
		}
	}
	if seen != len(allowed) {
		t.Errorf("gathered %d eventworker_ metrics, want %d", seen, len(allowed))
	}
	// Per consumer: 6 outcomes, 2 classes; the number of series never depends on traffic.
	if n := testutil.CollectAndCount(m.Outcomes); n != 2*len(metrics.AllOutcomes()) {
		t.Errorf("outcome series = %d, want %d", n, 2*len(metrics.AllOutcomes()))
	}
}

func TestLintFindsNoProblems(t *testing.T) {
	tests := []struct {
		name string
		reg  func() *prometheus.Registry
	}{
		{"worker metrics", prometheus.NewPedanticRegistry},
		{"daemon registry with Go and process collectors", metrics.NewRegistry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := tt.reg()
			exercise(metrics.New(reg))
			problems, err := testutil.GatherAndLint(reg)
			if err != nil {
				t.Fatalf("gather and lint: %v", err)
			}
			for _, p := range problems {
				t.Errorf("lint: %s: %s", p.Metric, p.Text)
			}
		})
	}
}

func TestNewRegistryHasRuntimeCollectors(t *testing.T) {
	reg := metrics.NewRegistry()
	for _, name := range []string{"go_goroutines", "process_start_time_seconds"} {
		n, err := testutil.GatherAndCount(reg, name)
		if err != nil {
			t.Fatalf("gather: %v", err)
		}
		// The process collector exists only where procfs does (Linux here).
		if n != 1 {
			t.Errorf("%s series = %d, want 1", name, n)
		}
	}
}

// TestPromtoolAcceptsScrape pipes a real text-format scrape of the daemon's registry into
// Prometheus's own checker.
func TestPromtoolAcceptsScrape(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		testenv.Unavailable(t, "promtool is not on PATH (Debian: apt-get install prometheus): %v", err)
		return
	}
	reg := metrics.NewRegistry()
	exercise(metrics.New(reg))

	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", "text/plain")
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("scrape: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if !bytes.Contains(rec.Body.Bytes(), []byte("eventworker_handler_outcomes_total{")) {
		t.Fatalf("scrape lacks the worker's metrics:\n%s", rec.Body.String())
	}

	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(rec.Body.Bytes())
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		t.Errorf("promtool check metrics exited %d:\n%s", exit.ExitCode(), out)
	case err != nil:
		t.Fatalf("run promtool: %v", err)
	}
}
