package worker

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/eventworker/eventworker/internal/metrics"
	"github.com/eventworker/eventworker/internal/testenv"
)

// TestKombuEventsWithNonStringHeadersAreHandled runs the real Python client: Kombu publishes
// contract events with int, bool, null, float, table and array headers and a naive timestamp,
// and the worker handles every one (none dead-lettered, none requeued forever).
func TestKombuEventsWithNonStringHeadersAreHandled(t *testing.T) {
	py := testenv.KombuPython(t)
	e := newEnv(t, nil)
	e.start()
	out, err := exec.Command(py, "../interop/testdata/kombu_publish.py", e.cfg.AMQPURL, e.reg.Exchange(),
		"order.created", "user.registered", "tenant.provisioned").CombinedOutput()
	if err != nil {
		t.Fatalf("kombu_publish.py: %v\n%s", err, out)
	}
	published := map[string]string{} // event_id -> type
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var ev struct {
			EventID   string `json:"event_id"`
			EventType string `json:"event_type"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("script output %q: %v", line, err)
		}
		published[ev.EventID] = ev.EventType
	}
	if len(published) != 3 {
		t.Fatalf("Kombu published %d events: %s", len(published), out)
	}
	for id, typ := range published {
		for _, c := range e.reg.ConsumersOf(typ) {
			deadline := time.Now().Add(30 * time.Second)
			for e.rec.count(c, id) == 0 && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if n := e.rec.count(c, id); n != 1 {
				outcomes := map[string]float64{}
				for _, o := range metrics.AllOutcomes() {
					outcomes[o] = testutil.ToFloat64(e.metrics.Outcomes.WithLabelValues(c, o))
				}
				t.Errorf("%s handled the Kombu %s %d times, want once; its outcomes: %v", c, typ, n, outcomes)
			}
		}
	}
	for _, c := range e.reg.Consumers() {
		if n := testutil.ToFloat64(e.metrics.Outcomes.WithLabelValues(c, metrics.OutcomeInvalid)); n != 0 {
			t.Errorf("%s dead-lettered %v Kombu events as invalid", c, n)
		}
	}
}
