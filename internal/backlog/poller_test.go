package backlog_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/internal/backlog"
	"github.com/eventworker/eventworker/internal/testenv"
)

// newPoller builds a poller of queues at url with its own registry and a log buffer.
func newPoller(t *testing.T, url string, queues ...backlog.Queue) (*backlog.Poller, *backlog.Metrics, *testenv.SyncBuffer) {
	t.Helper()
	return newPollerConsuming(t, url, nil, queues...)
}

// newPollerConsuming is newPoller with Config.Consuming.
func newPollerConsuming(t *testing.T, url string, consuming func() bool, queues ...backlog.Queue) (*backlog.Poller, *backlog.Metrics, *testenv.SyncBuffer) {
	t.Helper()
	m := backlog.NewMetrics(prometheus.NewPedanticRegistry())
	logs := &testenv.SyncBuffer{}
	p, err := backlog.New(backlog.Config{
		URL: url, Queues: queues, Metrics: m, Timeout: 5 * time.Second, Consuming: consuming,
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p, m, logs
}

// dial opens a connection and channel of the test's own.
func dial(t *testing.T, url string) *amqp.Channel {
	t.Helper()
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// declare declares a durable queue of type typ that the test deletes at its end.
func declare(t *testing.T, url, typ string) string {
	t.Helper()
	name := testenv.Name("ewtest-backlog-" + typ)
	ch := dial(t, url)
	if _, err := ch.QueueDeclare(name, true, false, false, false, amqp.Table{"x-queue-type": typ}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ch := dial(t, url)
		_, _ = ch.QueueDelete(name, false, false, false)
	})
	return name
}

func gauge(t *testing.T, g *prometheus.GaugeVec, q backlog.Queue) (float64, bool) {
	t.Helper()
	if testutil.CollectAndCount(g) == 0 {
		return 0, false
	}
	// DeleteLabelValues then re-adding would create the series: count first.
	before := testutil.CollectAndCount(g)
	v := testutil.ToFloat64(g.WithLabelValues(q.Name, q.Consumer, q.Kind))
	if testutil.CollectAndCount(g) != before {
		g.DeleteLabelValues(q.Name, q.Consumer, q.Kind)
		return 0, false
	}
	return v, true
}

func TestPollerReportsDepthAndConsumersAndDisturbsNothing(t *testing.T) {
	url := testenv.AMQPURL(t)
	for _, typ := range []string{"classic", "quorum"} {
		t.Run(typ, func(t *testing.T) {
			const published = 7
			full := backlog.Queue{Name: declare(t, url, typ), Consumer: "cache", Kind: backlog.KindWork}
			consumed := backlog.Queue{Name: declare(t, url, typ), Consumer: "cache", Kind: backlog.KindDeadLetter}
			ch := dial(t, url)
			for i := range published {
				err := ch.PublishWithContext(context.Background(), "", full.Name, false, false, amqp.Publishing{Body: []byte(fmt.Sprint(i)), DeliveryMode: amqp.Persistent})
				if err != nil {
					t.Fatal(err)
				}
			}
			// Two subscriptions on an empty queue: consumers without messages to take.
			for i := range 2 {
				if _, err := dial(t, url).Consume(consumed.Name, fmt.Sprint("c", i), false, false, false, false, nil); err != nil {
					t.Fatal(err)
				}
			}

			p, m, _ := newPoller(t, url, full, consumed)
			deadline := time.Now().Add(5 * time.Second)
			for {
				// Publishes are asynchronous: poll until the broker counts them all.
				if err := p.Poll(context.Background()); err != nil {
					t.Fatalf("poll: %v", err)
				}
				if v, _ := gauge(t, m.Messages, full); v == published || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			for _, tt := range []struct {
				what string
				g    *prometheus.GaugeVec
				q    backlog.Queue
				want float64
			}{
				{"messages of the full queue", m.Messages, full, published},
				{"consumers of the full queue", m.Consumers, full, 0},
				{"messages of the consumed queue", m.Messages, consumed, 0},
				{"consumers of the consumed queue", m.Consumers, consumed, 2},
			} {
				if got, ok := gauge(t, tt.g, tt.q); !ok || got != tt.want {
					t.Errorf("%s = %v (present %v), want %v", tt.what, got, ok, tt.want)
				}
			}
			if got := testutil.ToFloat64(m.LastSuccess); time.Since(time.Unix(int64(got), 0)) > time.Minute {
				t.Errorf("last success timestamp %v is not now", got)
			}

			// The messages are where they were: as many, none delivered before.
			reader := dial(t, url)
			for i := range published {
				d, ok, err := reader.Get(full.Name, false)
				if err != nil || !ok {
					t.Fatalf("get message %d: ok %v, %v", i, ok, err)
				}
				// A quorum queue counts earlier deliveries in x-delivery-count (0 or absent).
				if n := fmt.Sprint(d.Headers["x-delivery-count"]); d.Redelivered || (n != "<nil>" && n != "0") {
					t.Errorf("message %s was delivered before the test read it (redelivered %v, x-delivery-count %v)", d.Body, d.Redelivered, d.Headers["x-delivery-count"])
				}
				if string(d.Body) != fmt.Sprint(i) {
					t.Errorf("message %d has body %q: the queue's order changed", i, d.Body)
				}
			}
			if _, ok, _ := reader.Get(full.Name, false); ok {
				t.Errorf("more than %d messages in %s", published, full.Name)
			}
		})
	}
}

func TestPollerSurvivesAMissingQueue(t *testing.T) {
	url := testenv.AMQPURL(t)
	missing := backlog.Queue{Name: testenv.Name("ewtest-backlog-missing"), Consumer: "cache", Kind: backlog.KindRetry}
	present := backlog.Queue{Name: declare(t, url, "classic"), Consumer: "cache", Kind: backlog.KindWork}
	// The missing queue first: the one after it must still be read on a new channel.
	p, m, logs := newPoller(t, url, missing, present, missing2(t))
	for range 3 {
		if err := p.Poll(context.Background()); err != nil {
			t.Fatalf("poll: %v", err)
		}
	}
	if _, ok := gauge(t, m.Messages, missing); ok {
		t.Error("the missing queue has a depth series")
	}
	if got, ok := gauge(t, m.Messages, present); !ok || got != 0 {
		t.Errorf("the queue after the missing one: depth %v (present %v), want 0", got, ok)
	}
	if got := testutil.ToFloat64(m.PollErrors.WithLabelValues(backlog.ReasonMissing)); got != 6 {
		t.Errorf("poll errors (missing) = %v, want 6 (two queues, three polls)", got)
	}
	if got := testutil.ToFloat64(m.PollErrors.WithLabelValues(backlog.ReasonUnreachable)); got != 0 {
		t.Errorf("poll errors (unreachable) = %v, want 0", got)
	}
	if n := strings.Count(logs.String(), `"queue":"`+missing.Name+`"`); n != 1 {
		t.Errorf("the missing queue is logged %d times in three polls, want once:\n%s", n, logs)
	}
	if strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("a missing queue logged at ERROR:\n%s", logs)
	}
	// The queue declared meanwhile is read at the next poll, and said so.
	ch := dial(t, url)
	if _, err := ch.QueueDeclare(missing.Name, false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := gauge(t, m.Messages, missing); !ok {
		t.Error("the queue declared again has no depth series")
	}
	if !strings.Contains(logs.String(), "queue exists again") {
		t.Errorf("no line says the queue is back:\n%s", logs)
	}
}

// TestRunWaitsForTheWorkerToConsume: before the worker consumes, its queues may not exist yet;
// Run's first poll waits for it, so a start counts and logs no missing queue.
func TestRunWaitsForTheWorkerToConsume(t *testing.T) {
	url := testenv.AMQPURL(t)
	missing := backlog.Queue{Name: testenv.Name("ewtest-backlog-early"), Consumer: "cache", Kind: backlog.KindWork}
	var consuming, asked atomic.Bool
	p, m, logs := newPollerConsuming(t, url, func() bool { asked.Store(true); return consuming.Load() }, missing)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitFor(t, asked.Load)
	time.Sleep(500 * time.Millisecond) // two more checks
	if got := testutil.ToFloat64(m.PollErrors.WithLabelValues(backlog.ReasonMissing)); got != 0 {
		t.Errorf("poll errors (missing) = %v before the worker consumes, want 0", got)
	}
	if strings.Contains(logs.String(), missing.Name) {
		t.Errorf("a queue is logged before the worker consumes:\n%s", logs)
	}
	consuming.Store(true)
	waitFor(t, func() bool { return testutil.ToFloat64(m.PollErrors.WithLabelValues(backlog.ReasonMissing)) == 1 })
	waitFor(t, func() bool { return strings.Contains(logs.String(), missing.Name) })
}

// missing2 is a second queue that does not exist, last in the list.
func missing2(t *testing.T) backlog.Queue {
	return backlog.Queue{Name: testenv.Name("ewtest-backlog-missing"), Consumer: "cache", Kind: backlog.KindDeadLetter}
}

func TestPollerSurvivesAnUnreachableBroker(t *testing.T) {
	// Nothing listens on the port: the dial is refused.
	url := fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", testenv.FreePort(t))
	q := backlog.Queue{Name: "eventworker.cache", Consumer: "cache", Kind: backlog.KindWork}
	p, m, logs := newPoller(t, url, q)
	m.Messages.WithLabelValues(q.Name, q.Consumer, q.Kind).Set(12) // from an earlier poll
	for range 3 {
		if err := p.Poll(context.Background()); !errors.Is(err, backlog.ErrUnreachable) {
			t.Fatalf("poll of a broker that is not there: %v, want ErrUnreachable", err)
		}
	}
	if n := testutil.CollectAndCount(m.Messages); n != 0 {
		t.Errorf("%d depth series while the broker is unreachable, want none (stale values)", n)
	}
	if got := testutil.ToFloat64(m.PollErrors.WithLabelValues(backlog.ReasonUnreachable)); got != 3 {
		t.Errorf("poll errors (unreachable) = %v, want 3", got)
	}
	if n := strings.Count(logs.String(), `"level":"WARN"`); n != 1 {
		t.Errorf("%d WARN lines in three failed polls, want 1:\n%s", n, logs)
	}
	if strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("an unreachable broker logged at ERROR:\n%s", logs)
	}
	if got := testutil.ToFloat64(m.LastSuccess); got != 0 {
		t.Errorf("last success = %v, want 0 (never)", got)
	}
}

func TestPollerFollowsABrokerRestart(t *testing.T) {
	node := testenv.StartRabbitNode(t)
	q := backlog.Queue{Name: declare(t, node.URL, "quorum"), Consumer: "cache", Kind: backlog.KindWork}
	ch := dial(t, node.URL)
	if err := ch.PublishWithContext(context.Background(), "", q.Name, false, false, amqp.Publishing{Body: []byte("x"), DeliveryMode: amqp.Persistent}); err != nil {
		t.Fatal(err)
	}
	p, m, logs := newPoller(t, node.URL, q)
	waitDepth(t, p, m, q, 1)

	node.Stop()
	if err := p.Poll(context.Background()); !errors.Is(err, backlog.ErrUnreachable) {
		t.Fatalf("poll while the broker is stopped: %v, want ErrUnreachable", err)
	}
	if n := testutil.CollectAndCount(m.Messages); n != 0 {
		t.Errorf("%d depth series while the broker is stopped, want none", n)
	}
	node.Start()
	waitDepth(t, p, m, q, 1)
	if !strings.Contains(logs.String(), "reading the queues' depth from RabbitMQ again") {
		t.Errorf("no line says the poll works again:\n%s", logs)
	}
}

// waitDepth polls until q's depth is want (a quorum queue on a node that just started may
// need a moment to elect its leader).
func waitDepth(t *testing.T, p *backlog.Poller, m *backlog.Metrics, q backlog.Queue, want float64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := p.Poll(context.Background())
		got, ok := gauge(t, m.Messages, q)
		if err == nil && ok && got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("depth of %s = %v (present %v, poll error %v), want %v", q.Name, got, ok, err, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestRunStopsWithItsContext(t *testing.T) {
	url := testenv.AMQPURL(t)
	q := backlog.Queue{Name: declare(t, url, "classic"), Consumer: "cache", Kind: backlog.KindWork}
	m := backlog.NewMetrics(prometheus.NewRegistry())
	p, err := backlog.New(backlog.Config{URL: url, Queues: []backlog.Queue{q}, Metrics: m, Interval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(m.LastSuccess) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if testutil.ToFloat64(m.LastSuccess) == 0 {
		t.Error("Run never polled successfully")
	}
}

func TestPollAfterItsContextEndedCountsNothing(t *testing.T) {
	url := testenv.AMQPURL(t)
	q := backlog.Queue{Name: declare(t, url, "classic"), Consumer: "cache", Kind: backlog.KindWork}
	p, m, logs := newPoller(t, url, q)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Poll(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("poll with an ended context: %v, want context.Canceled", err)
	}
	if got := testutil.ToFloat64(m.PollErrors.WithLabelValues(backlog.ReasonUnreachable)); got != 0 {
		t.Errorf("poll errors = %v after a shutdown, want 0", got)
	}
	if logs.String() != "" {
		t.Errorf("a shutdown logged:\n%s", logs)
	}
}

// waitFor polls cond for up to 15 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 15s")
		}
	}
}
