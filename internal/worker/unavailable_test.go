package worker

import (
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/localtransport"
	"github.com/eventworker/eventworker/internal/metrics"
	"github.com/eventworker/eventworker/internal/worker/handling"
	"github.com/eventworker/eventworker/registry"
)

var errRelayDown = errors.New("connecting to mail server: connection refused")

// noPause keeps the consumers from pausing, so that every unavailable outcome goes through the
// retry queue at once (the pause is TestConsumerPausesWhileItsServiceIsDown's).
func noPause(c *config.Config) { c.PauseAfter = 0 }

// An event whose handler reports a service Unavailable is retried for as long as that lasts,
// far beyond its retries, and never dead-lettered for it; the retries count as such.
func TestLocalUnavailableIsRetriedWithoutSpendingAttempts(t *testing.T) {
	e := newLocalEnv(t, noPause)
	down := 4 * workerConfig(e.cfg).MaxAttempts()
	e.rec.fail = func(consumer string, _ *registry.Event, call int) error {
		switch {
		case consumer != "notifications":
			return nil
		case call <= down:
			return handling.Unavailable(errRelayDown)
		case call == down+1:
			return errFlaky // an ordinary transient failure still spends an attempt
		}
		return nil
	}
	id := uuid.NewString()
	e.publishRaw("order.created", id, e.example("order.created", id))
	e.waitIdle()
	if n := e.rec.count("notifications", id); n != down+2 {
		t.Errorf("notifications handled the event %d times, want %d (%d while unavailable, a failure, the success)", n, down+2, down)
	}
	if dl := e.tr.DeadLetters(); len(dl) != 0 {
		t.Errorf("dead letters while a service was unavailable: %+v", dl)
	}
	if got := e.outcome("notifications", metrics.OutcomeRetried); got != float64(down+1) {
		t.Errorf("retried outcomes = %v, want %d", got, down+1)
	}
	if got := e.outcome("notifications", metrics.OutcomeOK); got != 1 {
		t.Errorf("ok outcomes = %v, want 1", got)
	}
}

// The retries an event has left are not reset by an outage: after it, an event that keeps
// failing is dead-lettered after its usual attempts, and a Permanent error still goes at once.
func TestLocalUnavailableKeepsTheRetryBudget(t *testing.T) {
	e := newLocalEnv(t, noPause)
	const down = 5
	flakyID, permanentID := uuid.NewString(), uuid.NewString()
	e.rec.fail = func(consumer string, ev *registry.Event, call int) error {
		switch {
		case consumer != "notifications":
			return nil
		case ev.ID == permanentID:
			return handling.Permanent(handling.Unavailable(errRelayDown))
		case call <= down:
			return handling.Unavailable(errRelayDown)
		}
		return errFlaky
	}
	e.publishRaw("order.created", flakyID, e.example("order.created", flakyID))
	e.publishRaw("order.created", permanentID, e.example("order.created", permanentID))
	e.waitIdle()
	byID := map[string]localtransport.DeadLetter{}
	for _, d := range e.tr.DeadLetters() {
		byID[d.MessageID] = d
	}
	want := workerConfig(e.cfg).MaxAttempts()
	if x := byID[flakyID]; x.Class != broker.ClassExhausted || x.Attempts != want {
		t.Errorf("dead letter of the failing event: class %q, attempts %d; want %q after %d attempts", x.Class, x.Attempts, broker.ClassExhausted, want)
	}
	if n := e.rec.count("notifications", flakyID); n != down+want {
		t.Errorf("the failing event was tried %d times, want %d (%d while unavailable, then %d attempts)", n, down+want, down, want)
	}
	if x := byID[permanentID]; x.Class != broker.ClassPermanent || x.Attempts != 1 {
		t.Errorf("dead letter of the permanent failure: class %q, attempts %d; want permanent after 1", x.Class, x.Attempts)
	}
	if got := testutil.ToFloat64(e.metrics.DeadLetters.WithLabelValues("notifications", broker.ClassExhausted)); got != 1 {
		t.Errorf("exhausted dead letters metric = %v, want 1", got)
	}
}
