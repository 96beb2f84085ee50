package worker

import (
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/internal/metrics"
	"github.com/eventworker/eventworker/internal/worker/handling"
	"github.com/eventworker/eventworker/registry"
)

func testBreaker(after int) (*breaker, prometheus.Gauge) {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "paused"})
	b := newBreaker(after, 80*time.Millisecond, slog.New(slog.NewJSONHandler(io.Discard, nil)), g)
	b.minPause = 20 * time.Millisecond
	return b, g
}

// admitWithin reports whether admit returned within d, and whether as the probe. A wait that
// outlasts d is ended (as a shutdown would), so it takes no later probe's turn.
func admitWithin(b *breaker, d time.Duration) (admitted, probe bool) {
	got, drain := make(chan bool, 1), make(chan struct{})
	go func() { got <- b.admit(drain) }()
	select {
	case p := <-got:
		return true, p
	case <-time.After(d):
		close(drain)
		if p := <-got; p {
			return true, true // it became the probe just then
		}
		return false, false
	}
}

func TestBreaker(t *testing.T) {
	down := errors.New("mail server unavailable")
	tests := []struct {
		name string
		run  func(t *testing.T, b *breaker, g prometheus.Gauge)
	}{
		{"closed: every message runs at once", func(t *testing.T, b *breaker, g prometheus.Gauge) {
			for range 2 {
				b.done(false, unavailable, down)
			}
			if ok, probe := admitWithin(b, 10*time.Millisecond); !ok || probe {
				t.Errorf("admitted %v probe %v after 2 of 3 failures, want at once, no probe", ok, probe)
			}
		}},
		{"an available outcome resets the count", func(t *testing.T, b *breaker, g prometheus.Gauge) {
			b.done(false, unavailable, down)
			b.done(false, unavailable, down)
			b.done(false, available, nil)
			b.done(false, unavailable, down)
			if ok, _ := admitWithin(b, 10*time.Millisecond); !ok || testutil.ToFloat64(g) != 0 {
				t.Error("paused after failures that were not in a row")
			}
		}},
		{"open: messages wait, then one probe runs", func(t *testing.T, b *breaker, g prometheus.Gauge) {
			for range 3 {
				b.done(false, unavailable, down)
			}
			if testutil.ToFloat64(g) != 1 {
				t.Error("gauge not 1 while paused")
			}
			if ok, _ := admitWithin(b, 5*time.Millisecond); ok {
				t.Fatal("admitted at once while paused")
			}
			ok, probe := admitWithin(b, time.Second)
			if !ok || !probe {
				t.Fatalf("after the pause: admitted %v probe %v, want the probe", ok, probe)
			}
			if ok, _ := admitWithin(b, 50*time.Millisecond); ok {
				t.Error("a second message ran beside the probe")
			}
			b.done(true, available, nil)
			if ok, probe := admitWithin(b, 10*time.Millisecond); !ok || probe || testutil.ToFloat64(g) != 0 {
				t.Errorf("after a probe got through: admitted %v probe %v gauge %v, want resumed", ok, probe, testutil.ToFloat64(g))
			}
		}},
		{"a failed probe doubles the pause, up to the cap", func(t *testing.T, b *breaker, g prometheus.Gauge) {
			for range 3 {
				b.done(false, unavailable, down)
			}
			for _, want := range []time.Duration{20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond, 80 * time.Millisecond} {
				b.mu.Lock()
				pause := b.pause
				b.mu.Unlock()
				if pause != want {
					t.Fatalf("pause %s, want %s", pause, want)
				}
				if ok, probe := admitWithin(b, time.Second); !ok || !probe {
					t.Fatal("no probe after the pause")
				}
				b.done(true, unavailable, down)
			}
		}},
		{"a probe that never reached the service passes its turn on", func(t *testing.T, b *breaker, g prometheus.Gauge) {
			for range 3 {
				b.done(false, unavailable, down)
			}
			if ok, probe := admitWithin(b, time.Second); !ok || !probe {
				t.Fatal("no probe")
			}
			b.done(true, untold, nil)
			if ok, probe := admitWithin(b, 10*time.Millisecond); !ok || !probe {
				t.Errorf("after an untold probe: admitted %v probe %v, want the next probe at once", ok, probe)
			}
		}},
		{"shutdown ends the wait", func(t *testing.T, b *breaker, g prometheus.Gauge) {
			for range 3 {
				b.done(false, unavailable, down)
			}
			drain := make(chan struct{})
			close(drain)
			if probe := b.admit(drain); probe {
				t.Error("a message let through by shutdown counted as the probe")
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, g := testBreaker(3)
			tc.run(t, b, g)
		})
	}
	if newBreaker(0, time.Second, nil, nil) != nil {
		t.Error("PauseAfter 0 made a breaker")
	}
}

// TestConsumerPausesWhileItsServiceIsDown: while the tenants handler finds a service it needs
// unavailable, the consumer pauses after EVENTWORKER_PAUSE_AFTER such outcomes in a row: its
// other events wait instead of each going through the retry queue, one probe runs per interval,
// and once the service is back the consumer resumes by itself and handles every event. The
// other consumers are not paused.
func TestConsumerPausesWhileItsServiceIsDown(t *testing.T) {
	e := newEnv(t, func(c *config.Config) {
		c.PauseAfter, c.PauseMax = 3, time.Second
		c.Concurrency, c.Prefetch = 2, 50
	})
	var down atomic.Bool
	down.Store(true)
	e.rec.fail = func(consumer string, _ *registry.Event, _ int) error {
		if consumer == "tenants" && down.Load() {
			return handling.Unavailable(errors.New("tenant store unreachable"))
		}
		return nil
	}
	e.start()
	const n = 40
	ids := make([]string, n)
	for i := range ids {
		ids[i] = uuid.NewString()
		e.publish("tenant.reactivated", e.example("tenant.reactivated", ids[i]), nil)
	}
	paused := func(c string) float64 { return testutil.ToFloat64(e.metrics.Paused.WithLabelValues(c)) }
	retried := func() int {
		return int(testutil.ToFloat64(e.metrics.Outcomes.WithLabelValues("tenants", metrics.OutcomeRetried)))
	}
	e.waitFor("the tenants consumer paused", 15*time.Second, func() bool { return paused("tenants") == 1 })
	time.Sleep(3 * time.Second) // the outage goes on
	during := retried()
	if paused("cache") != 0 {
		t.Error("the cache consumer paused too")
	}
	down.Store(false)
	e.waitFor("every event handled", 30*time.Second, func() bool {
		for _, id := range ids {
			if e.rec.count("tenants", id) == 0 {
				return false
			}
		}
		return true
	})
	t.Logf("figures a 3 s outage over %d events: %d went through the retry queue (3 to pause, the concurrency's in flight, then one probe a second)", n, during)
	// Without the pause, every one of them would have gone round at least once.
	if during > 3+2+4 {
		t.Errorf("%d events retried during the outage, want at most 9", during)
	}
	if paused("tenants") != 0 {
		t.Error("the consumer did not resume")
	}
	if len(e.logs.lines(t, "consumer resumed: the service it needs answers again")) != 1 {
		t.Error("no log line of the resumption")
	}
}
