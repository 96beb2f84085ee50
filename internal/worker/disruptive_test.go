//go:build disruptive

// Tests that disturb the shared RabbitMQ for everyone (they close every connection to it), so
// they run alone, after the rest:
//
//	go test -race -tags disruptive -count=1 -run Disruptive ./internal/worker/
package worker

import (
	"os/exec"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/internal/metrics"
	"github.com/eventworker/eventworker/registry"
)

func TestDisruptiveCloseAllConnectionsUnderLoad(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Concurrency = 4; c.Prefetch = 8 })
	e.rec.fail = func(string, *registry.Event, int) error { time.Sleep(2 * time.Millisecond); return nil }
	e.start()
	const n = 600
	ids := make([]string, n)
	for i := range ids {
		ids[i] = uuid.NewString()
	}
	for i, id := range ids {
		if i == n/2 {
			// Half published: drop every connection to the broker, ours included.
			out, err := exec.Command("rabbitmqctl", "close_all_connections", "eventworker disruptive test").CombinedOutput()
			if err != nil {
				t.Fatalf("close_all_connections: %v: %s", err, out)
			}
		}
		e.publish("user.updated", e.example("user.updated", id), nil)
	}
	ok := func() float64 {
		return testutil.ToFloat64(e.metrics.Outcomes.WithLabelValues("cache", metrics.OutcomeOK))
	}
	e.waitFor("every event handled after the connections were closed", 120*time.Second, func() bool { return ok() >= n })
	dup := testutil.ToFloat64(e.metrics.Outcomes.WithLabelValues("cache", metrics.OutcomeDuplicate))
	t.Logf("published %d, handled ok %v, duplicates skipped %v", n, ok(), dup)
	if ok() != n {
		t.Errorf("ok outcomes = %v, want %d (each event's effect once)", ok(), n)
	}
	if e.reconnects == 0 {
		t.Error("the test's publisher never lost its connection: close_all_connections did not take effect")
	}
	for _, id := range ids {
		if c := e.rec.count("cache", id); c != 1 {
			t.Errorf("event %s handled %d times, want 1", id, c)
		}
	}
	e.waitFor("readiness after reconnect", 30*time.Second, func() bool { return e.worker.Ready(t.Context()) == nil })
}
