package worker

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/dlq"
	"github.com/eventworker/eventworker/internal/metrics"
	"github.com/eventworker/eventworker/registry"
)

// TestExhaustedThenReplayedIsHandledOnce: retries run out, the event is dead-lettered, the
// dependency recovers, `eventworker dlq replay` sends it back, and it is handled exactly once.
func TestExhaustedThenReplayedIsHandledOnce(t *testing.T) {
	e := newEnv(t, nil)
	var healthy atomic.Bool
	e.rec.fail = func(consumer string, _ *registry.Event, _ int) error {
		if consumer == "tenants" && !healthy.Load() {
			return errFlaky
		}
		return nil
	}
	e.start()
	id := uuid.NewString()
	e.publish("tenant.reactivated", e.example("tenant.reactivated", id), nil)
	dlqName := broker.Names{Prefix: e.cfg.QueuePrefix, Consumer: "tenants"}.DeadLetter()
	e.waitFor("the dead letter", 20*time.Second, func() bool { return e.queueDepth(dlqName) == 1 })

	healthy.Store(true)
	confirmer := broker.NewConfirmer(e.cfg.AMQPURL, "eventworker-test-replay", 5*time.Second, nil)
	defer confirmer.Close()
	tool := dlq.New(e.conn, confirmer, e.cfg.QueuePrefix, e.reg.Exchange(), e.reg.Consumers())
	moved, err := tool.Replay(context.Background(), dlq.Filter{Consumers: []string{"tenants"}}, false, nil)
	if err != nil || moved != 1 {
		t.Fatalf("replay moved %d: %v", moved, err)
	}
	e.waitFor("the replayed event to be handled", 15*time.Second, func() bool {
		return testutil.ToFloat64(e.metrics.Outcomes.WithLabelValues("tenants", metrics.OutcomeOK)) == 1
	})
	if n := e.rec.count("tenants", id); n != workerConfig(e.cfg).MaxAttempts()+1 {
		t.Errorf("handler ran %d times, want %d failures and 1 success", n, workerConfig(e.cfg).MaxAttempts())
	}
	if d := e.queueDepth(dlqName); d != 0 {
		t.Errorf("dead-letter queue still holds %d", d)
	}
}
