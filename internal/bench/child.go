package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/handlers"
	"github.com/eventworker/eventworker/internal/app"
	"github.com/eventworker/eventworker/internal/idempotency"
	"github.com/eventworker/eventworker/internal/redisclient"
	"github.com/eventworker/eventworker/internal/worker/handling"
	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/registry"
)

// ChildEnv is the environment variable that turns `eventworker bench` into the measured child
// process; its value is the JSON of a childSpec.
const ChildEnv = "EVENTWORKER_BENCH_CHILD"

// Child kinds.
const (
	kindWorker   = "worker"
	kindBaseline = "baseline"
	kindMinimal  = "minimal"
)

// childSpec tells the child what to run.
type childSpec struct {
	Kind         string         `json:"kind"`
	Name         string         `json:"name"`
	RegistryFile string         `json:"registry_file"`
	RedisURL     string         `json:"redis_url"`
	MailURL      string         `json:"mail_url"`
	Expected     map[string]int `json:"expected"`
	Timeout      time.Duration  `json:"timeout"`
	CPUProfile   string         `json:"cpu_profile,omitempty"`
	// Replicas, above 1, is how many worker children share the queues; Counter is the prefix
	// of the Redis keys (one per consumer) where they add up their handler calls, so that each
	// stops once all of them together made the expected calls.
	Replicas int    `json:"replicas,omitempty"`
	Counter  string `json:"counter,omitempty"`
}

// childResult is what the child prints on its last line of stdout.
type childResult struct {
	Consumers map[string]ConsumerRun `json:"consumers"`
	Handled   int                    `json:"handled"`
	Errors    int                    `json:"errors"`
	Seconds   float64                `json:"seconds"`
	Lag       Percentiles            `json:"lag"`
	TimedOut  bool                   `json:"timed_out"`
	// RedisCommands and RedisRoundTrips are what the process's Redis client sent.
	RedisCommands   int64 `json:"redis_commands"`
	RedisRoundTrips int64 `json:"redis_round_trips"`
	// First and Last are the first handler call's start and the last one's end; LagSamples
	// are every call's lag, sent only by a child among several, for the parent's percentiles.
	First      time.Time       `json:"first"`
	Last       time.Time       `json:"last"`
	LagSamples []time.Duration `json:"lag_samples,omitempty"`
}

// Child runs the measured part of a benchmark (the worker, or the bare consumer) in this
// process, as told by spec (the JSON in EVENTWORKER_BENCH_CHILD), and prints its result as
// JSON on stdout. Logs at warn level and above go to stderr.
func Child(ctx context.Context, spec string, getenv func(string) string, stdout, stderr io.Writer) error {
	var s childSpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		return fmt.Errorf("%s: %w", ChildEnv, err)
	}
	cfg, err := benchConfig(getenv, s.Name, s.RegistryFile, s.MailURL)
	if err != nil {
		return err
	}
	cfg.RedisURL = s.RedisURL
	switch s.Kind {
	case kindBaseline:
		cfg.CachePrefix = s.Name + ":base:"
	case kindMinimal:
		cfg.CachePrefix = s.Name + ":min:"
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if s.CPUProfile != "" {
		f, err := os.Create(s.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rdb, err := redisclient.New(cfg.RedisURL, cfg.RedisCAFile)
	if err != nil {
		return err
	}
	defer rdb.Close()
	counts := &countHook{}
	rdb.AddHook(counts)
	rec := newRecorder(s.Expected)
	rec.counts = counts
	switch s.Kind {
	case kindWorker:
		app.TuneGC(getenv) // as `eventworker run` does
		var shared <-chan struct{}
		if s.Replicas > 1 {
			stop, done := context.WithCancel(ctx)
			defer done()
			shared = shareProgress(stop, cfg.RedisURL, cfg.RedisCAFile, s.Counter, rec)
			rec.keepSamples = true
		}
		err = runWorker(ctx, cfg, log, rdb, rec, shared, s.Timeout)
	case kindBaseline:
		err = runBaseline(ctx, cfg, log, rdb, rec, s.Timeout)
	case kindMinimal:
		err = runMinimal(ctx, cfg, rdb, rec, s.Timeout)
	default:
		err = fmt.Errorf("unknown child kind %q", s.Kind)
	}
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(rec.result())
}

// benchConfig is the worker's configuration from the environment, on the bench's private
// exchange, queues and keys. The mail rate limit is lifted unless EVENTWORKER_MAIL_RATE sets it:
// it protects a relay, it is not a cost of the worker.
func benchConfig(getenv func(string) string, name, registryFile, mailURL string) (*config.Config, error) {
	cfg, err := config.Load(getenv, nil)
	if err != nil {
		return nil, err
	}
	cfg.QueuePrefix = name
	cfg.CachePrefix = name + ":"
	cfg.RegistryFile = registryFile
	cfg.HTTPAddr = "127.0.0.1:0"
	if mailURL != "" {
		cfg.MailURL = mailURL
	}
	if getenv("EVENTWORKER_MAIL_RATE") == "" {
		cfg.MailRate = 0
	}
	if getenv("EVENTWORKER_LOG_LEVEL") == "" {
		cfg.LogLevel = "warn"
	}
	return cfg, cfg.Validate()
}

// recorder counts the handler calls per consumer and keeps every lag sample.
type recorder struct {
	// counts, when set, is read at the first handler call's start and at each call's end, so
	// that only what the drain asked of Redis is counted (not start-up and readiness checks).
	counts   *countHook
	cmdStart [2]int64 // commands, round trips at the first call's start
	cmdEnd   [2]int64 // at the last call's end
	mu       sync.Mutex
	expected map[string]int
	missing  int
	cons     map[string]*consumerStat
	lags     []time.Duration
	first    time.Time
	last     time.Time
	done     chan struct{}
	// keepSamples sends every lag sample with the result (a child among several).
	keepSamples bool
}

type consumerStat struct {
	handled, errors int
	first, last     time.Time
}

func newRecorder(expected map[string]int) *recorder {
	r := &recorder{expected: expected, cons: map[string]*consumerStat{}, done: make(chan struct{})}
	for c, n := range expected {
		r.missing += n
		r.cons[c] = &consumerStat{}
	}
	if r.missing == 0 {
		close(r.done)
	}
	return r
}

// begin notes that a handler call starts.
func (r *recorder) begin() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.first.IsZero() && r.counts != nil && r.cmdStart == [2]int64{} {
		r.cmdStart = [2]int64{r.counts.commands.Load(), r.counts.roundTrips.Load()}
	}
}

// record notes one handler call of consumer that started at start; final is false for a
// transient failure, which the pipeline retries.
func (r *recorder) record(consumer string, start time.Time, ev *registry.Event, final bool) {
	now := time.Now()
	lag := now.Sub(ev.OccurredAt)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.counts != nil {
		r.cmdEnd = [2]int64{r.counts.commands.Load(), r.counts.roundTrips.Load()}
	}
	c := r.cons[consumer]
	if c == nil {
		c = &consumerStat{}
		r.cons[consumer] = c
	}
	if c.first.IsZero() || start.Before(c.first) {
		c.first = start
	}
	if r.first.IsZero() || start.Before(r.first) {
		r.first = start
	}
	c.last, r.last = now, now
	if !final {
		c.errors++
		return
	}
	c.handled++
	r.lags = append(r.lags, lag)
	if c.handled <= r.expected[consumer] {
		r.missing--
		if r.missing == 0 {
			close(r.done)
		}
	}
}

func (r *recorder) result() childResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := childResult{Consumers: map[string]ConsumerRun{}, Lag: Summarize(r.lags), TimedOut: r.missing > 0}
	for name, c := range r.cons {
		cr := ConsumerRun{Handled: c.handled, Errors: c.errors}
		if !c.first.IsZero() {
			cr.Seconds = c.last.Sub(c.first).Seconds()
			cr.PerSecond = Ratio(float64(c.handled), cr.Seconds)
		}
		out.Consumers[name] = cr
		out.Handled += c.handled
		out.Errors += c.errors
	}
	if !r.first.IsZero() {
		out.Seconds = r.last.Sub(r.first).Seconds()
	}
	out.First, out.Last = r.first, r.last
	if r.keepSamples {
		out.LagSamples = r.lags
	}
	out.RedisCommands, out.RedisRoundTrips = r.cmdEnd[0]-r.cmdStart[0], r.cmdEnd[1]-r.cmdStart[1]
	return out
}

// final reports whether the pipeline is done with an event after its handler returned err.
func final(err error) bool {
	return err == nil || errors.Is(err, handling.ErrSuppressed) || errors.Is(err, handling.ErrDuplicate) || handling.IsPermanent(err)
}

// runWorker runs the worker as `eventworker run` does (app.Run with handlers.All) on rdb, each
// handler wrapped to record its lag, until every expected call happened or timeout passed.
// shared, when not nil, ends the run too: every replica together made the expected calls.
func runWorker(ctx context.Context, cfg *config.Config, log *slog.Logger, rdb redis.UniversalClient, rec *recorder, shared <-chan struct{}, timeout time.Duration) error {
	build := func(d handlers.Deps) []handling.Handler {
		hs := handlers.All(d)
		for i, h := range hs {
			hs[i] = handling.Func{Name: h.Consumer(), Types: h.EventTypes(), InEffect: handling.RecordsInEffect(h), Fn: func(ctx context.Context, ev *registry.Event) error {
				rec.begin()
				start := time.Now()
				err := h.Handle(ctx, ev)
				rec.record(h.Consumer(), start, ev, final(err))
				return err
			}}
		}
		return hs
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- app.Run(ctx, cfg, log, app.WithHandlers(build), app.WithRedis(rdb)) }()
	select {
	case <-rec.done:
	case <-shared:
	case <-time.After(timeout):
	case err := <-errc:
		return fmt.Errorf("worker stopped early: %w", err)
	}
	cancel()
	return <-errc
}

// shareProgress adds this child's handler calls per consumer to the Redis counters under
// prefix every 50 ms, on a client of its own (the measured one counts only what events cost),
// and closes the returned channel once the counters of every expected consumer reach what is
// expected of all the children together.
func shareProgress(ctx context.Context, redisURL, caFile, prefix string, rec *recorder) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		rdb, err := redisclient.New(redisURL, caFile)
		if err != nil {
			return // the run ends at its timeout
		}
		defer rdb.Close()
		added := map[string]int{}
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			rec.mu.Lock()
			now := map[string]int{}
			for c := range rec.expected {
				if s := rec.cons[c]; s != nil {
					now[c] = s.handled
				}
			}
			rec.mu.Unlock()
			reached := true
			for c, want := range rec.expected {
				total, err := rdb.IncrBy(ctx, prefix+c, int64(now[c]-added[c])).Result()
				if err != nil {
					reached = false
					break
				}
				added[c] = now[c]
				reached = reached && total >= int64(want)
			}
			if reached {
				close(done)
				return
			}
		}
	}()
	return done
}

// runBaseline drains the bare queues with amqp091-go: per consumer as many channels as the
// worker's concurrency, each with the worker's prefetch and one goroutine, doing what the
// worker's pipeline does in Redis (for handlers that record their events in their effects, the
// effect alone; for the others, idempotency lease, the handler's effect, done marker) and
// acknowledging each message. No schema validation, metrics, logs or timeouts.
func runBaseline(ctx context.Context, cfg *config.Config, log *slog.Logger, rdb redis.UniversalClient, rec *recorder, timeout time.Duration) error {
	deps, closeDeps, err := app.HandlerDeps(ctx, cfg, log, rdb, prometheus.NewRegistry(), nopPublisher{}, nil)
	if err != nil {
		return err
	}
	defer closeDeps()
	byName := map[string]handling.Handler{}
	for _, h := range handlers.All(deps) {
		byName[h.Consumer()] = h
	}
	dedupe := idempotency.New(rdb, cfg.CachePrefix, cfg.IdempotencyTTL, cfg.LeaseTTL)
	conn, err := dialFirst(cfg.AMQPURL)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	for consumer, n := range rec.expected {
		h := byName[consumer]
		if n == 0 || h == nil {
			continue
		}
		for range app.WorkerConfig(cfg).ConcurrencyOf(consumer) {
			ch, err := conn.Channel()
			if err != nil {
				return err
			}
			if err := ch.Qos(cfg.Prefetch, 0, false); err != nil {
				return err
			}
			deliveries, err := ch.Consume(baselineQueue(cfg.QueuePrefix, consumer), "", false, false, false, false, nil)
			if err != nil {
				return err
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-ctx.Done():
						return
					case d, ok := <-deliveries:
						if !ok {
							return
						}
						if err := handleBare(ctx, dedupe, h, rec, d); err != nil {
							select {
							case errc <- err:
							default:
							}
							return
						}
					}
				}
			}()
		}
	}
	select {
	case <-rec.done:
	case <-time.After(timeout):
	case err := <-errc:
		cancel()
		wg.Wait()
		return err
	}
	cancel()
	wg.Wait()
	return nil
}

func handleBare(ctx context.Context, dedupe *idempotency.Store, h handling.Handler, rec *recorder, d amqp.Delivery) error {
	rec.begin()
	start := time.Now()
	ev := new(registry.Event)
	if err := ev.UnmarshalJSON(d.Body); err != nil {
		return err
	}
	dec, ok := decoders[ev.Type]
	if !ok {
		return fmt.Errorf("bare consumer: no decoder for %s", ev.Type)
	}
	var err error
	if ev.Payload, err = dec(ev.Data); err != nil {
		return err
	}
	if handling.RecordsInEffect(h) {
		// The effect records the event itself, as in the worker: no lease, no done marker.
		herr := h.Handle(ctx, ev)
		rec.record(h.Consumer(), start, ev, final(herr))
		return d.Ack(false)
	}
	state, lease, err := dedupe.Begin(ctx, h.Consumer(), ev.ID)
	if err != nil {
		return err
	}
	if state == idempotency.StateAcquired {
		herr := h.Handle(ctx, ev)
		if final(herr) {
			if err := lease.Complete(ctx); err != nil {
				return err
			}
		} else if err := lease.Release(ctx); err != nil {
			return err
		}
		rec.record(h.Consumer(), start, ev, final(herr))
	}
	return d.Ack(false)
}

// nopPublisher drops derived events: the workloads cause none.
type nopPublisher struct{}

func (nopPublisher) Publish(context.Context, publisher.Event) (*registry.Event, error) {
	return &registry.Event{}, nil
}

// baselineQueue is the bare consumer's copy of a consumer's queue.
func baselineQueue(prefix, consumer string) string { return prefix + ".bare." + consumer }
