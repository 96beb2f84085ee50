package worker

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/idempotency"
	"github.com/eventworker/eventworker/internal/metrics"
)

// TestPoisonGuardCountsRunsThatDied: a delivery that may follow a run whose process died counts
// its run in Redis; an event whose handler began the delivery limit times without ever ending
// is dead-lettered without another run, and fewer such runs do not stop it.
func TestPoisonGuardCountsRunsThatDied(t *testing.T) {
	const limit = 3
	e := newEnv(t, func(c *config.Config) { c.DeliveryLimit = limit })
	e.start()
	runs := idempotency.NewRuns(e.rdb, e.cfg.CachePrefix)
	ctx := context.Background()
	maybeDied := amqp.Table{broker.HeaderReturns: int64(1)}
	tests := []struct {
		name       string
		died       int // runs of the event's handler that began and never ended, before
		headers    amqp.Table
		wantRun    bool
		wantCount  int // unfinished runs afterwards
		wantDeadTo string
	}{
		{"a first delivery counts nothing", 0, nil, true, 0, ""},
		{"a delivery that may follow a death counts its run, and takes it back", 0, maybeDied, true, 0, ""},
		{"fewer deaths than the limit: run, and they stay counted", limit - 1, maybeDied, true, limit - 1, ""},
		{"as many deaths as the limit: dead-lettered unrun", limit, maybeDied, false, 0, broker.ClassDeliveryLimit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := uuid.NewString()
			for range tc.died {
				if _, err := runs.Start(ctx, "tenants", id); err != nil {
					t.Fatal(err)
				}
			}
			e.publish("tenant.reactivated", e.example("tenant.reactivated", id), tc.headers)
			if tc.wantDeadTo != "" {
				d := e.dead("tenants", 1, 15*time.Second)[0]
				if d.Headers[broker.HeaderErrorClass] != tc.wantDeadTo {
					t.Errorf("dead letter class %v, want %s", d.Headers[broker.HeaderErrorClass], tc.wantDeadTo)
				}
				t.Logf("reason: %v", d.Headers[broker.HeaderReason])
			} else {
				e.waitFor("the event handled", 15*time.Second, func() bool { return e.rec.count("tenants", id) == 1 })
			}
			time.Sleep(200 * time.Millisecond) // the run's count is taken back after the handler returned
			if got := e.rec.count("tenants", id); (got > 0) != tc.wantRun {
				t.Errorf("handler ran %d times, want run %v", got, tc.wantRun)
			}
			if n, err := runs.Unfinished(ctx, "tenants", id); err != nil || n != tc.wantCount {
				t.Errorf("unfinished runs afterwards = %d (%v), want %d", n, err, tc.wantCount)
			}
		})
	}
}

// TestDeliveryLimitReachedUnhandledIsPublishedAnew: a message that came back unacknowledged as
// often as the quorum queue's delivery limit allows (prefetched by workers that died) is
// published anew with a fresh delivery count and handled, not dead-lettered by the broker at
// its next return.
func TestDeliveryLimitReachedUnhandledIsPublishedAnew(t *testing.T) {
	const limit = 2
	e := newEnv(t, func(c *config.Config) { c.DeliveryLimit = limit })
	e.start()
	if err := e.stop(); err != nil {
		t.Fatal(err)
	}
	id := uuid.NewString()
	e.publish("tenant.reactivated", e.example("tenant.reactivated", id), nil)
	// Two workers took it and died before a handler saw it: it comes back with a delivery
	// count of 2, and a third return would dead-letter it.
	work := broker.Names{Prefix: e.cfg.QueuePrefix, Consumer: "tenants"}.Work()
	for range limit {
		var d amqp.Delivery
		e.waitFor("the message in "+work, 10*time.Second, func() bool {
			var ok bool
			var err error
			d, ok, err = e.ch.Get(work, false)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		})
		if err := d.Nack(false, true); err != nil {
			t.Fatal(err)
		}
	}
	e.start()
	e.waitFor("the event handled", 15*time.Second, func() bool { return e.rec.count("tenants", id) == 1 })
	// Renewed as it arrived: the handler ran the fresh copy, once. (Without the renewal it runs
	// the message at the limit, and a worker dying meanwhile would have it dead-lettered.)
	e.waitFor("the renewal counted", 5*time.Second, func() bool {
		return testutil.ToFloat64(e.metrics.Outcomes.WithLabelValues("tenants", metrics.OutcomeRenewed)) == 1
	})
	time.Sleep(200 * time.Millisecond)
	if n := e.rec.count("tenants", id); n != 1 {
		t.Errorf("handled %d times, want once", n)
	}
	if n := e.queueDepth(broker.Names{Prefix: e.cfg.QueuePrefix, Consumer: "tenants"}.DeadLetter()); n != 0 {
		t.Errorf("%d dead letters, want none", n)
	}
}
