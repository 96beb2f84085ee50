package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/alicebob/miniredis/v2"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/idempotency"
	"github.com/eventworker/eventworker/internal/localtransport"
	"github.com/eventworker/eventworker/internal/metrics"
	"github.com/eventworker/eventworker/internal/worker/handling"
	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/publisher/watermillbus"
	"github.com/eventworker/eventworker/registry"
)

// localEnv is a worker on a local transport with an embedded Redis: no outside service at all.
type localEnv struct {
	t       *testing.T
	cfg     *config.Config
	reg     *registry.Registry
	rec     *recorder
	metrics *metrics.Metrics
	tr      *localtransport.Transport
	worker  *Worker
}

func newLocalEnv(t *testing.T, tweak func(*config.Config)) *localEnv {
	t.Helper()
	reg, err := registry.Default()
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	// Nothing may dial these: the local transport and miniredis stand in for them.
	cfg.AMQPURL, cfg.RedisURL = "amqp://nowhere.invalid:1/", "redis://nowhere.invalid:1/0"
	cfg.QuickRetries = 0
	cfg.QuickBackoff = time.Millisecond
	cfg.RetryDelays = []time.Duration{20 * time.Millisecond, 40 * time.Millisecond}
	cfg.Concurrency = 2
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.HandlerTimeout, cfg.MailTimeout = 4*time.Second, 3*time.Second // within the shutdown deadline
	if tweak != nil {
		tweak(cfg)
	}
	// Not validated: the durable delays are shorter than Validate allows for a daemon, so the
	// retries take milliseconds.
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })

	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewJSONHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	e := &localEnv{t: t, cfg: cfg, reg: reg, rec: newRecorder(), metrics: metrics.New(metrics.NewRegistry())}
	e.tr = localtransport.New(log)
	e.worker, err = New(Deps{
		Config: workerConfig(cfg), Registry: reg, Handlers: e.rec.handlers(reg), Transport: e.tr,
		Dedupe:  idempotency.New(rdb, cfg.CachePrefix, cfg.IdempotencyTTL, cfg.LeaseTTL),
		Metrics: e.metrics, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.worker.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v after a clean shutdown", err)
			}
		case <-time.After(cfg.ShutdownTimeout + 5*time.Second):
			t.Error("worker did not stop")
		}
		if err := e.tr.Close(); err != nil {
			t.Error(err)
		}
	})
	return e
}

// publishRaw sends body on the topic rk as a producer would through GoChannel.
func (e *localEnv) publishRaw(rk, id string, body []byte) {
	e.t.Helper()
	msg := message.NewMessage(id, body)
	msg.Metadata.Set(watermillbus.MetadataRoutingKey, rk)
	msg.Metadata.Set(watermillbus.MetadataContentType, publisher.ContentType)
	if err := e.tr.Publisher().Publish(rk, msg); err != nil {
		e.t.Fatal(err)
	}
}

// example is a registry example of eventType with event_id id.
func (e *localEnv) example(eventType, id string) []byte {
	e.t.Helper()
	typ, err := e.reg.Type(eventType)
	if err != nil {
		e.t.Fatal(err)
	}
	ex := string(typ.Latest().Examples[0].Event)
	var env struct {
		ID string `json:"event_id"`
	}
	if err := json.Unmarshal([]byte(ex), &env); err != nil {
		e.t.Fatal(err)
	}
	return []byte(strings.Replace(ex, env.ID, id, 1))
}

func (e *localEnv) waitIdle() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.tr.WaitIdle(ctx); err != nil {
		e.t.Fatal(err)
	}
}

func (e *localEnv) outcome(consumer, outcome string) float64 {
	return testutil.ToFloat64(e.metrics.Outcomes.WithLabelValues(consumer, outcome))
}

func TestLocalTransientFailureRetriedToSuccess(t *testing.T) {
	e := newLocalEnv(t, nil)
	e.rec.fail = func(consumer string, _ *registry.Event, call int) error {
		if consumer == "notifications" && call == 1 {
			return errFlaky
		}
		return nil
	}
	id := uuid.NewString()
	e.publishRaw("order.created", id, e.example("order.created", id))
	e.waitIdle()
	if n := e.rec.count("notifications", id); n != 2 {
		t.Errorf("notifications handled the event %d times, want 2 (a failure, then the retry)", n)
	}
	if n := e.rec.count("analytics", id); n != 1 {
		t.Errorf("analytics handled the event %d times, want 1", n)
	}
	if got := e.outcome("notifications", metrics.OutcomeRetried); got != 1 {
		t.Errorf("retried outcomes = %v, want 1", got)
	}
	if got := e.outcome("notifications", metrics.OutcomeOK); got != 1 {
		t.Errorf("ok outcomes = %v, want 1", got)
	}
	if got := testutil.ToFloat64(e.metrics.EventsReceived.WithLabelValues("notifications", "order.created", "2")) +
		testutil.ToFloat64(e.metrics.EventsReceived.WithLabelValues("analytics", "order.created", "2")); got != 2 {
		t.Errorf("events received = %v, want 2 (one per consumer, the retry not counted)", got)
	}
	if dl := e.tr.DeadLetters(); len(dl) != 0 {
		t.Errorf("dead letters after a retried success: %+v", dl)
	}
}

func TestLocalPermanentAndExhaustedFailuresAreDeadLettered(t *testing.T) {
	e := newLocalEnv(t, nil)
	permanentID, exhaustedID := uuid.NewString(), uuid.NewString()
	e.rec.fail = func(consumer string, ev *registry.Event, _ int) error {
		switch {
		case consumer != "notifications":
			return nil
		case ev.ID == permanentID:
			return handling.Permanent(errors.New("550 mailbox unavailable"))
		default:
			return errFlaky
		}
	}
	permanentBody := e.example("order.created", permanentID)
	e.publishRaw("order.created", permanentID, permanentBody)
	e.publishRaw("order.created", exhaustedID, e.example("order.created", exhaustedID))
	e.waitIdle()

	byID := map[string]localtransport.DeadLetter{}
	for _, d := range e.tr.DeadLetters() {
		if d.Consumer != "notifications" || d.Queue != "eventworker.notifications.dlq" {
			t.Errorf("dead letter of %s in %s, want notifications' dead-letter queue", d.Consumer, d.Queue)
		}
		byID[d.MessageID] = d
	}
	if len(byID) != 2 {
		t.Fatalf("dead letters %+v, want one per event", e.tr.DeadLetters())
	}
	p := byID[permanentID]
	if p.Class != broker.ClassPermanent || !strings.Contains(p.Reason, "550 mailbox unavailable") || p.Attempts != 1 ||
		p.RoutingKey != "order.created" || !bytes.Equal(p.Body, permanentBody) {
		t.Errorf("permanent dead letter: class %q, reason %q, attempts %d, routing key %q, body intact %v",
			p.Class, p.Reason, p.Attempts, p.RoutingKey, bytes.Equal(p.Body, permanentBody))
	}
	if n := e.rec.count("notifications", permanentID); n != 1 {
		t.Errorf("a permanent failure was tried %d times, want 1", n)
	}
	x := byID[exhaustedID]
	want := workerConfig(e.cfg).MaxAttempts()
	if x.Class != broker.ClassExhausted || x.Attempts != want || !strings.Contains(x.Reason, errFlaky.Error()) ||
		x.FirstFailure.IsZero() || x.LastFailure.Before(x.FirstFailure) {
		t.Errorf("exhausted dead letter: class %q, attempts %d (want %d), reason %q, failures %s .. %s",
			x.Class, x.Attempts, want, x.Reason, x.FirstFailure, x.LastFailure)
	}
	if n := e.rec.count("notifications", exhaustedID); n != want {
		t.Errorf("an always failing event was tried %d times, want %d", n, want)
	}
	if got := testutil.ToFloat64(e.metrics.DeadLetters.WithLabelValues("notifications", broker.ClassPermanent)); got != 1 {
		t.Errorf("permanent dead letters metric = %v, want 1", got)
	}
}

func TestLocalSameEventTwiceRunsHandlerOnce(t *testing.T) {
	e := newLocalEnv(t, nil)
	id := uuid.NewString()
	body := e.example("user.updated", id)
	e.publishRaw("user.updated", id, body)
	e.waitIdle()
	e.publishRaw("user.updated", id, body)
	e.waitIdle()
	if n := e.rec.count("cache", id); n != 1 {
		t.Errorf("cache handled the event %d times, want 1", n)
	}
	if got := e.outcome("cache", metrics.OutcomeDuplicate); got != 1 {
		t.Errorf("duplicate outcomes = %v, want 1", got)
	}
}

func TestLocalInvalidEventIsDeadLetteredWithItsReason(t *testing.T) {
	e := newLocalEnv(t, nil)
	id := uuid.NewString()
	body := strings.Replace(string(e.example("order.created", id)), `"customer_email":"bob@example.com",`, "", 1)
	if strings.Contains(body, "customer_email") {
		t.Fatalf("the example changed; cannot remove customer_email from %s", body)
	}
	e.publishRaw("order.created", id, []byte(body))
	e.waitIdle()
	dl := e.tr.DeadLetters()
	if len(dl) != 2 {
		t.Fatalf("%d dead letters, want 2 (notifications and analytics both receive order.created): %+v", len(dl), dl)
	}
	for _, d := range dl {
		if d.MessageID != id || d.Class != broker.ClassPermanent || !strings.Contains(d.Reason, "invalid event") ||
			!strings.Contains(d.Reason, "customer_email") {
			t.Errorf("dead letter of %s: id %s, class %q, reason %q", d.Consumer, d.MessageID, d.Class, d.Reason)
		}
		if got := e.outcome(d.Consumer, metrics.OutcomeInvalid); got != 1 {
			t.Errorf("invalid outcomes of %s = %v, want 1", d.Consumer, got)
		}
	}
}

func TestLocalPublisherPackageAndUnroutableTopic(t *testing.T) {
	e := newLocalEnv(t, nil)
	pub, err := watermillbus.New(e.tr.Publisher(), publisher.Config{Registry: e.reg, Producer: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := publisher.WithCorrelationID(context.Background(), "flow-1")
	id, err := pub.UserRegistered(ctx, "acme", registry.UserRegistered{UserID: "u1", Email: "u1@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	e.waitIdle()
	if e.rec.count("notifications", id) != 1 || e.rec.count("analytics", id) != 1 {
		t.Errorf("user.registered from the publisher package not handled by notifications and analytics")
	}
	// The publisher's Close leaves the transport open for others.
	if err := pub.Close(); err != nil {
		t.Fatal(err)
	}
	err = e.tr.Publisher().Publish("nobody.listens", message.NewMessage(uuid.NewString(), []byte("{}")))
	if !errors.Is(err, broker.ErrUnroutable) {
		t.Errorf("publish to a topic without consumers: %v, want ErrUnroutable", err)
	}
	if e.tr.Pending() != "nothing" {
		t.Errorf("pending after an unroutable publish: %s", e.tr.Pending())
	}
}

func TestLocalTransportServesOneWorker(t *testing.T) {
	e := newLocalEnv(t, nil)
	_, err := New(Deps{Config: workerConfig(e.cfg), Registry: e.reg, Handlers: e.rec.handlers(e.reg), Metrics: e.metrics,
		Logger: slog.New(slog.DiscardHandler), Transport: e.tr})
	if err == nil || !strings.Contains(err.Error(), "already serves a worker") {
		t.Errorf("second worker on one transport: %v", err)
	}
	if err := e.worker.Ready(context.Background()); err != nil {
		// Run may not have started the router yet; wait for it briefly.
		deadline := time.Now().Add(5 * time.Second)
		for err != nil && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
			err = e.worker.Ready(context.Background())
		}
		if err != nil {
			t.Errorf("local worker not ready: %v", err)
		}
	}
}
