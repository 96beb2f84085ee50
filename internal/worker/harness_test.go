package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/handlers"
	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/idempotency"
	"github.com/eventworker/eventworker/internal/logging"
	"github.com/eventworker/eventworker/internal/metrics"
	"github.com/eventworker/eventworker/internal/testenv"
	"github.com/eventworker/eventworker/internal/worker/handling"
	"github.com/eventworker/eventworker/registry"
)

// recorder is a test handler for every consumer: it records calls and fails as told.
type recorder struct {
	mu    sync.Mutex
	calls map[string][]string // consumer -> event ids, in call order
	// fail decides the error of a call; nil means success.
	fail func(consumer string, ev *registry.Event, call int) error
	// started is signalled at the start of each call when not nil.
	started chan string
	// log, when set, gets a line logged with the handler's context at each call.
	log *slog.Logger
}

func newRecorder() *recorder { return &recorder{calls: map[string][]string{}} }

func (r *recorder) handlers(reg *registry.Registry) []handling.Handler {
	var hs []handling.Handler
	for _, c := range reg.Consumers() {
		hs = append(hs, handling.Func{Name: c, Types: reg.EventsOf(c), Fn: func(ctx context.Context, ev *registry.Event) error {
			r.mu.Lock()
			r.calls[c] = append(r.calls[c], ev.ID)
			n := 0
			for _, id := range r.calls[c] {
				if id == ev.ID {
					n++
				}
			}
			fail, log := r.fail, r.log
			r.mu.Unlock()
			if log != nil {
				log.DebugContext(ctx, "test handler called")
			}
			if r.started != nil {
				r.started <- c
			}
			if fail != nil {
				return fail(c, ev, n)
			}
			return nil
		}})
	}
	return hs
}

func (r *recorder) count(consumer, id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, x := range r.calls[consumer] {
		if x == id {
			n++
		}
	}
	return n
}

// env is one worker under test with its own exchange, queues and Redis prefix.
type env struct {
	t       *testing.T
	cfg     *config.Config
	reg     *registry.Registry
	rec     *recorder
	metrics *metrics.Metrics
	rdb     *redis.Client
	conn    *amqp.Connection
	ch      *amqp.Channel
	worker  *Worker
	cancel  context.CancelFunc
	done    chan error
	// reconnects counts how often the test's own publisher had to reconnect.
	reconnects int
	// logs holds the worker's log lines, at debug level.
	logs *lockedBuffer
	// tracer, when set before start, traces the worker.
	tracer trace.TracerProvider
}

// lockedBuffer is a bytes.Buffer for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the JSON lines written so far that have msg.
func (b *lockedBuffer) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range bytes.Split(b.buf.Bytes(), []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// newEnv builds a worker on a private exchange (the registry's, renamed) so that parallel tests
// and packages never see each other's events.
func newEnv(t *testing.T, tweak func(*config.Config)) *env {
	t.Helper()
	amqpURL := testenv.AMQPURL(t)
	redisAddr := testenv.RedisAddr(t)
	name := testenv.Name("ewtest")
	reg, err := registry.Load([]byte(strings.Replace(string(registry.Embedded()), "exchange: events", "exchange: "+name, 1)))
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.AMQPURL = amqpURL
	cfg.RedisURL = "redis://" + redisAddr
	cfg.QueuePrefix = name
	cfg.CachePrefix = name + ":"
	cfg.QuickRetries = 0
	cfg.QuickBackoff = 10 * time.Millisecond
	cfg.RetryDelays = []time.Duration{time.Second, time.Second}
	cfg.Concurrency = 2
	cfg.ShutdownTimeout = 10 * time.Second
	cfg.HandlerTimeout = 5 * time.Second
	cfg.MailTimeout = 4 * time.Second
	if tweak != nil {
		tweak(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, cfg: cfg, reg: reg, rec: newRecorder()}
	e.rdb = redis.NewClient(&redis.Options{Addr: redisAddr})
	e.conn, err = amqp.Dial(amqpURL)
	if err != nil {
		t.Fatal(err)
	}
	e.ch, err = e.conn.Channel()
	if err == nil {
		err = e.ch.Confirm(false)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.cleanup(name) })
	return e
}

func (e *env) start() {
	e.t.Helper()
	e.metrics = metrics.New(metrics.NewRegistry())
	e.logs = &lockedBuffer{}
	var out io.Writer = e.logs
	if testing.Verbose() {
		out = io.MultiWriter(e.logs, testWriter{e.t})
	}
	log := logging.New(out, slog.LevelDebug)
	e.rec.mu.Lock()
	e.rec.log = log
	e.rec.mu.Unlock()
	confirmer := broker.NewConfirmer(e.cfg.AMQPURL, "eventworker-test", 5*time.Second, nil)
	w, err := New(Deps{
		Config: workerConfig(e.cfg), Registry: e.reg, Handlers: e.rec.handlers(e.reg),
		Dedupe:    idempotency.New(e.rdb, e.cfg.CachePrefix, e.cfg.IdempotencyTTL, e.cfg.LeaseTTL),
		Runs:      idempotency.NewRuns(e.rdb, e.cfg.CachePrefix),
		Confirmer: confirmer, Metrics: e.metrics, Logger: log, Tracer: e.tracer,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.worker, e.cancel, e.done = w, cancel, make(chan error, 1)
	go func() { e.done <- w.Run(ctx); _ = confirmer.Close() }()
	e.waitFor("worker ready", 30*time.Second, func() bool { return w.Ready(context.Background()) == nil })
}

// stop sends the shutdown signal and returns Run's result.
func (e *env) stop() error {
	e.cancel()
	select {
	case err := <-e.done:
		e.cancel = nil
		return err
	case <-time.After(e.cfg.ShutdownTimeout + 10*time.Second):
		e.t.Fatal("worker did not stop")
		return nil
	}
}

func (e *env) cleanup(name string) {
	if e.cancel != nil {
		e.cancel()
		<-e.done
	}
	ch, err := e.conn.Channel()
	if err == nil {
		for _, c := range e.reg.Consumers() {
			n := broker.Names{Prefix: name, Consumer: c}
			for _, q := range []string{n.Work(), n.DeadLetter()} {
				_, _ = ch.QueueDelete(q, false, false, false)
			}
			for _, d := range e.cfg.RetryDelays {
				_, _ = ch.QueueDelete(n.Retry(d), false, false, false)
			}
		}
		_, _ = ch.QueueDelete(broker.UnroutableQueue(name), false, false, false)
		_ = ch.ExchangeDelete(broker.UnroutableExchange(name), false, false)
		_ = ch.ExchangeDelete(name, false, false)
	}
	_ = e.conn.Close()
	ctx := context.Background()
	iter := e.rdb.Scan(ctx, 0, name+":*", 100).Iterator()
	for iter.Next(ctx) {
		e.rdb.Del(ctx, iter.Val())
	}
	_ = e.rdb.Close()
}

// publish sends a raw body with a routing key and headers to the test exchange and waits for
// the broker's confirm, reconnecting if the broker closed the connection meanwhile.
func (e *env) publish(rk string, body []byte, headers amqp.Table) {
	e.t.Helper()
	var err error
	for try := 0; try < 5; try++ {
		var dc *amqp.DeferredConfirmation
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		dc, err = e.ch.PublishWithDeferredConfirmWithContext(ctx, e.reg.Exchange(), rk, false, false, amqp.Publishing{
			Body: body, Headers: headers, ContentType: "application/json", DeliveryMode: amqp.Persistent,
		})
		if err == nil {
			var ok bool
			ok, err = dc.WaitContext(ctx)
			if err == nil && !ok {
				err = errors.New("nacked")
			}
		}
		cancel()
		if err == nil {
			return
		}
		e.reconnectPublisher()
	}
	e.t.Fatalf("publish %s: %v", rk, err)
}

// example returns a registry example of a type, with a fresh event_id when id is not "".
func (e *env) example(eventType, id string) []byte {
	e.t.Helper()
	typ, err := e.reg.Type(eventType)
	if err != nil {
		e.t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(typ.Latest().Examples[0].Event, &m); err != nil {
		e.t.Fatal(err)
	}
	if id != "" {
		m["event_id"] = id
	}
	b, _ := json.Marshal(m)
	return b
}

// dead returns the messages in a consumer's dead-letter queue (and acks them).
func (e *env) dead(consumer string, want int, timeout time.Duration) []amqp.Delivery {
	e.t.Helper()
	q := broker.Names{Prefix: e.cfg.QueuePrefix, Consumer: consumer}.DeadLetter()
	var out []amqp.Delivery
	e.waitFor("dead letters in "+q, timeout, func() bool {
		for {
			d, ok, err := e.ch.Get(q, true)
			if err != nil {
				e.t.Fatal(err)
			}
			if !ok {
				break
			}
			out = append(out, d)
		}
		return len(out) >= want
	})
	return out
}

func (e *env) queueDepth(q string) int {
	e.t.Helper()
	info, err := e.ch.QueueDeclarePassive(q, true, false, false, false, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return info.Messages
}

func (e *env) waitFor(what string, timeout time.Duration, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

var errFlaky = errors.New("flaky dependency")

// reconnectPublisher reopens the test's own publishing connection after the broker closed it.
func (e *env) reconnectPublisher() {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := amqp.Dial(e.cfg.AMQPURL)
		if err == nil {
			ch, err := conn.Channel()
			if err == nil && ch.Confirm(false) == nil {
				e.reconnects++
				e.conn, e.ch = conn, ch
				return
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("reconnect test publisher: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// workerConfig is the worker's configuration as app.WorkerConfig maps it from cfg, the
// environment's settings (this package's tests cannot import internal/app).
func workerConfig(c *config.Config) Config {
	return Config{
		AMQPURL: c.AMQPURL, QueuePrefix: c.QueuePrefix, QueueType: c.QueueType,
		DeliveryLimit: c.DeliveryLimit, RetryDelays: c.RetryDelays,
		Concurrency: c.Concurrency, ConsumerConcurrency: c.ConsumerConcurrency, Prefetch: c.Prefetch,
		HandlerTimeout: c.HandlerTimeout, QuickRetries: c.QuickRetries, QuickBackoff: c.QuickBackoff,
		ShutdownTimeout: c.ShutdownTimeout, MaxBodyBytes: c.MaxBodyBytes,
		PauseAfter: c.PauseAfter, PauseMax: c.PauseMax,
	}
}

// builtIn is the handler of consumer that handlers.All builds from d, as the worker runs it.
func builtIn(t *testing.T, consumer string, d handlers.Deps) handling.Handler {
	t.Helper()
	for _, h := range handlers.All(d) {
		if h.Consumer() == consumer {
			return h
		}
	}
	t.Fatalf("handlers.All has no handler for consumer %s", consumer)
	return nil
}
