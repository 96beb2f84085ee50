// Package bench is the benchmark harness of `eventworker bench`: it preloads or paces events
// of a mix on a private exchange of the real RabbitMQ, drains them with the worker as deployed
// (app.New with handlers.All) in a child process, optionally drains the same workload with a
// bare amqp091-go consumer doing the same Redis work, sends emails to a local SMTP sink, and
// reports throughput, end-to-end lag percentiles, CPU seconds and peak RSS against the targets
// BENCHMARKS.md sets out. It never runs in `go test`.
package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/internal/app"
	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/redisclient"
	"github.com/eventworker/eventworker/internal/worker"
	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/publisher/amqpnodes"
	"github.com/eventworker/eventworker/registry"
)

// Modes.
const (
	// ModeDrain preloads the events, then times the drain.
	ModeDrain = "drain"
	// ModeSteady publishes at a fixed rate while the worker runs.
	ModeSteady = "steady"
)

// Options of a benchmark run.
type Options struct {
	Mode     string
	Events   int
	Mix      string
	Rate     float64
	Duration time.Duration
	Baseline bool
	// Minimal also drains the cache consumer's queue with the minimal consumer (drain).
	Minimal bool
	// Consumers, when not empty in drain mode, fills only these consumers' queues: the worker
	// still runs every handler, the others' queues stay empty.
	Consumers []string
	// Emails, when positive, also sends that many emails to a local SMTP sink.
	Emails int
	// Keys, when positive in drain mode, drains a second time after loading that many unrelated
	// keys into Redis, to show that the cost per event does not grow with the keyspace. The run
	// then uses Redis database 15, as cache/bench_test.go does.
	Keys int
	// Replicas, above 1 in drain mode, runs that many worker children at once on the same
	// queues, as replicas of a deployment compete; the worker's figures are their sums (CPU,
	// handler calls, Redis) over the span from the first handler call of any to the last.
	Replicas   int
	CPUProfile string
	Getenv     func(string) string
	// Progress receives progress lines (stderr).
	Progress io.Writer
}

// Bench runs the benchmark and returns its report; the private exchange, queues and Redis keys
// are deleted at the end.
func Bench(ctx context.Context, o Options) (*Report, error) {
	if o.Mode != ModeDrain && o.Mode != ModeSteady {
		return nil, fmt.Errorf("unknown mode %q: use %s or %s", o.Mode, ModeDrain, ModeSteady)
	}
	progress := func(format string, args ...any) { fmt.Fprintf(o.Progress, "bench: "+format+"\n", args...) }
	name := "ewbench-" + randomHex(4)
	dir, err := os.MkdirTemp("", name)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	regFile := filepath.Join(dir, "registry.yaml")
	yaml := strings.Replace(string(registry.Embedded()), "exchange: events", "exchange: "+name, 1)
	if err := os.WriteFile(regFile, []byte(yaml), 0o600); err != nil {
		return nil, err
	}
	reg, err := registry.LoadFile(regFile)
	if err != nil {
		return nil, err
	}
	wl, err := newWorkload(reg, o.Mix)
	if err != nil {
		return nil, err
	}
	filled := reg.Consumers()
	if len(o.Consumers) > 0 && o.Mode == ModeDrain {
		for _, c := range o.Consumers {
			if _, err := reg.ConsumerDescription(c); err != nil {
				return nil, fmt.Errorf("--consumers: %w", err)
			}
		}
		filled = o.Consumers
	}
	sink, err := startSink()
	if err != nil {
		return nil, err
	}
	defer sink.Close()
	getenv := o.Getenv
	if o.Keys > 0 && o.Mode == ModeDrain {
		u, err := keysDB(getenv("EVENTWORKER_REDIS_URL"))
		if err != nil {
			return nil, err
		}
		getenv = func(k string) string {
			if k == "EVENTWORKER_REDIS_URL" {
				return u
			}
			return o.Getenv(k)
		}
	}
	cfg, err := benchConfig(getenv, name, regFile, sink.URL())
	if err != nil {
		return nil, err
	}
	rep := &Report{Mode: o.Mode, Mix: o.Mix, Machine: machine(), Consumers: filled}
	rdb, err := redisclient.New(cfg.RedisURL, cfg.RedisCAFile)
	if err != nil {
		return nil, err
	}
	defer rdb.Close()

	conn, err := dialFirst(cfg.AMQPURL)
	if err != nil {
		return nil, fmt.Errorf("RabbitMQ: %w", err)
	}
	defer conn.Close()
	defer cleanup(conn, cfg, reg, progress)
	copies := declareCopies{bare: o.Baseline && o.Mode == ModeDrain, minimal: o.Minimal && o.Mode == ModeDrain}
	if err := declare(conn, cfg, reg, filled, copies); err != nil {
		return nil, err
	}
	pub, err := publisher.New(ctx, publisher.Config{URL: cfg.AMQPURL, Registry: reg, Producer: "eventworker-bench", Channels: 16})
	if err != nil {
		return nil, err
	}
	defer pub.Close()

	spec := childSpec{Name: name, RegistryFile: regFile, RedisURL: cfg.RedisURL, MailURL: sink.URL(), CPUProfile: o.CPUProfile}
	expected := func(n int) map[string]int {
		out := map[string]int{}
		for _, c := range filled {
			if k := wl.expected(n)[c]; k > 0 {
				out[c] = k
			}
		}
		return out
	}
	switch o.Mode {
	case ModeDrain:
		progress("%s: preloading %d %s events on exchange %s", name, o.Events, o.Mix, name)
		start := time.Now()
		if err := preload(ctx, pub, wl, 0, o.Events); err != nil {
			return nil, err
		}
		progress("preloaded in %s; draining with the worker (child process)", time.Since(start).Round(time.Millisecond))
		spec.Kind, spec.Expected, spec.Timeout = kindWorker, expected(o.Events), 10*time.Minute
		label := "worker"
		if o.Replicas > 1 {
			spec.Replicas, spec.Counter = o.Replicas, name+":bench:handled:"
			label = fmt.Sprintf("worker x%d", o.Replicas)
		}
		rep.Worker, err = runChildren(ctx, rdb, spec, max(o.Replicas, 1), o.Events, label, nil)
		spec.Replicas, spec.Counter = 0, ""
		if err != nil {
			return nil, err
		}
		if o.Baseline {
			progress("draining the same workload with the bare amqp091-go consumer (child process)")
			spec.Kind, spec.CPUProfile = kindBaseline, suffixed(o.CPUProfile, ".bare")
			rep.Baseline, err = runChild(ctx, rdb, spec, o.Events, "bare consumer", nil)
			if err != nil {
				return nil, err
			}
		}
		if o.Minimal {
			progress("draining the cache queue's copy with the minimal consumer (child process)")
			spec.Kind, spec.CPUProfile = kindMinimal, suffixed(o.CPUProfile, ".minimal")
			spec.Expected = map[string]int{minimalConsumer: wl.expected(o.Events)[minimalConsumer]}
			rep.Minimal, err = runChild(ctx, rdb, spec, o.Events, "minimal consumer", nil)
			if err != nil {
				return nil, err
			}
			spec.Expected = expected(o.Events)
		}
		if err := deleteCopies(conn, cfg, reg); err != nil {
			return nil, err
		}
		if o.Keys > 0 {
			progress("loading %d unrelated keys into Redis (%s)", o.Keys, cfg.RedisURL)
			start := time.Now()
			if err := loadKeys(ctx, cfg, o.Keys); err != nil {
				return nil, err
			}
			// The second drain starts on new work queues, as the first did: a quorum queue
			// drained of 20,000 messages compacts its log for a while, work of the broker's
			// that would slow the second drain whatever the keyspace. The worker bound every
			// consumer's queue when it started: the unfilled ones go too.
			if err := deleteWorkQueues(conn, cfg, reg); err != nil {
				return nil, err
			}
			if err := declare(conn, cfg, reg, filled, declareCopies{}); err != nil {
				return nil, err
			}
			progress("loaded in %s; preloading %d more events and draining again", time.Since(start).Round(time.Millisecond), o.Events)
			if err := preload(ctx, pub, wl, o.Events, o.Events); err != nil {
				return nil, err
			}
			spec.Kind, spec.CPUProfile = kindWorker, suffixed(o.CPUProfile, ".keys")
			rep.WorkerKeys, err = runChild(ctx, rdb, spec, o.Events, fmt.Sprintf("worker, %d keys", o.Keys), nil)
			if err != nil {
				return nil, err
			}
			rep.Keys = o.Keys
		}
	case ModeSteady:
		n := int(o.Rate * o.Duration.Seconds())
		spec.Kind, spec.Expected, spec.Timeout = kindWorker, wl.expected(n), o.Duration+30*time.Second
		var published atomic.Int64
		var pubSeconds float64
		rep.Worker, err = runChild(ctx, rdb, spec, n, "worker", func() error {
			if err := waitConsumers(ctx, conn, cfg, reg); err != nil {
				return err
			}
			progress("%s: worker consuming; publishing %s events at %.0f/s for %s", name, o.Mix, o.Rate, o.Duration)
			start := time.Now()
			err := pace(ctx, pub, wl, n, o.Rate, &published)
			pubSeconds = time.Since(start).Seconds()
			return err
		})
		if err != nil {
			return nil, err
		}
		rep.Worker.PublishedPerSecond = Ratio(float64(published.Load()), pubSeconds)
	}
	if o.Emails > 0 {
		progress("sending %d emails to the local SMTP sink", o.Emails)
		if rep.Emails, err = sendEmails(ctx, sink, o.Emails); err != nil {
			return nil, err
		}
	}
	rep.evaluate()
	return rep, nil
}

// runChild runs this executable as a bench child with spec, calls during (if any) while it
// runs, and returns the child's figures with its CPU time, peak RSS and what it asked of Redis
// (rdb's INFO commandstats before and after, besides the child's own count).
func runChild(ctx context.Context, rdb redis.UniversalClient, spec childSpec, events int, label string, during func() error) (*Run, error) {
	return runChildren(ctx, rdb, spec, 1, events, label, during)
}

// runChildren is runChild with n children at once on the same queues: their handler calls,
// errors, CPU time and Redis commands are summed, the time spans the first call of any to the
// last of any, the lag percentiles are those of every child's samples, and the peak RSS is the
// largest child's.
func runChildren(ctx context.Context, rdb redis.UniversalClient, spec childSpec, n, events int, label string, during func() error) (*Run, error) {
	before, err := readCommandStats(ctx, rdb)
	if err != nil {
		return nil, fmt.Errorf("redis INFO commandstats: %w", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmds := make([]*exec.Cmd, n)
	outs := make([]*bytes.Buffer, n)
	stopAll := func() {
		for _, c := range cmds {
			if c != nil && c.Process != nil {
				_ = c.Process.Kill()
				_ = c.Wait()
			}
		}
	}
	for i := range n {
		s := spec
		if n > 1 {
			s.CPUProfile = suffixed(spec.CPUProfile, fmt.Sprintf(".%d", i+1))
		}
		raw, err := json.Marshal(s)
		if err != nil {
			return nil, err
		}
		cmd := exec.CommandContext(ctx, exe, "bench")
		cmd.Env = append(os.Environ(), ChildEnv+"="+string(raw))
		outs[i] = new(bytes.Buffer)
		cmd.Stdout, cmd.Stderr = outs[i], os.Stderr
		if err := cmd.Start(); err != nil {
			stopAll()
			return nil, err
		}
		cmds[i] = cmd
	}
	if during != nil {
		if err := during(); err != nil {
			stopAll()
			return nil, err
		}
	}
	var waitErr error
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil && waitErr == nil {
			waitErr = fmt.Errorf("%s child: %w", label, err)
		}
	}
	if waitErr != nil {
		return nil, waitErr
	}
	after, err := readCommandStats(ctx, rdb)
	if err != nil {
		return nil, fmt.Errorf("redis INFO commandstats: %w", err)
	}
	results := make([]childResult, n)
	for i, out := range outs {
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &results[i]); err != nil {
			return nil, fmt.Errorf("%s child printed %q: %w", label, out.String(), err)
		}
	}
	res := mergeResults(results, spec.Expected)
	expected := 0
	for _, k := range spec.Expected {
		expected += k
	}
	run := &Run{
		Name: label, Consumers: res.Consumers, Events: events, Handled: res.Handled, Expected: expected,
		Errors: res.Errors, Seconds: res.Seconds, EventsPerSecond: Ratio(float64(events), res.Seconds),
		Lag: res.Lag, TimedOut: res.TimedOut, CallsPerSecond: Ratio(float64(res.Handled), res.Seconds),
		Redis: newRedisUse(res.RedisCommands, res.RedisRoundTrips, after.since(before), res.Handled),
	}
	for _, cmd := range cmds {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			run.CPUSeconds += tv(ru.Utime) + tv(ru.Stime)
			run.PeakRSSMiB = max(run.PeakRSSMiB, float64(ru.Maxrss)/1024) // KiB on Linux
		}
	}
	run.CPUMicrosPerCall = 1e6 * Ratio(run.CPUSeconds, float64(res.Handled))
	return run, nil
}

// mergeResults is the result of one child, or the sum of several that shared the queues.
func mergeResults(rs []childResult, expected map[string]int) childResult {
	if len(rs) == 1 {
		return rs[0]
	}
	out := childResult{Consumers: map[string]ConsumerRun{}}
	var lags []time.Duration
	for _, r := range rs {
		out.Handled += r.Handled
		out.Errors += r.Errors
		out.RedisCommands += r.RedisCommands
		out.RedisRoundTrips += r.RedisRoundTrips
		lags = append(lags, r.LagSamples...)
		if !r.First.IsZero() && (out.First.IsZero() || r.First.Before(out.First)) {
			out.First = r.First
		}
		if r.Last.After(out.Last) {
			out.Last = r.Last
		}
		for name, c := range r.Consumers {
			m := out.Consumers[name]
			m.Handled += c.Handled
			m.Errors += c.Errors
			m.Seconds = max(m.Seconds, c.Seconds)
			out.Consumers[name] = m
		}
	}
	for name, c := range out.Consumers {
		c.PerSecond = Ratio(float64(c.Handled), c.Seconds)
		out.Consumers[name] = c
		out.TimedOut = out.TimedOut || c.Handled < expected[name]
	}
	if !out.First.IsZero() {
		out.Seconds = out.Last.Sub(out.First).Seconds()
	}
	out.Lag = Summarize(lags)
	return out
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// declareCopies says which copies of the work queues a drain fills besides the worker's.
type declareCopies struct {
	bare    bool // the bare consumer's, of every filled queue
	minimal bool // the minimal consumer's, of the cache queue if it is filled
}

// declare declares the topology of the consumers whose queues the run fills, as the worker
// would, and the copies of their work queues, of the same type and bound alike. The other
// consumers' queues are declared by the worker when it starts, after the preload, so they
// stay empty.
func declare(conn *amqp.Connection, cfg *config.Config, reg *registry.Registry, filled []string, copies declareCopies) error {
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	wc := app.WorkerConfig(cfg)
	top := worker.Topology(&wc, reg)
	declareCopy := func(q, c string) error {
		if _, err := ch.QueueDeclare(q, true, false, false, false, amqp.Table{"x-queue-type": cfg.QueueType}); err != nil {
			return err
		}
		for _, key := range top.Bindings[c] {
			if err := ch.QueueBind(q, key, reg.Exchange(), false, nil); err != nil {
				return err
			}
		}
		return nil
	}
	for _, c := range filled {
		if err := top.Declare(ch, c); err != nil {
			return err
		}
		if copies.bare {
			if err := declareCopy(baselineQueue(cfg.QueuePrefix, c), c); err != nil {
				return err
			}
		}
		if copies.minimal && c == minimalConsumer {
			if err := declareCopy(minimalQueue(cfg.QueuePrefix, c), c); err != nil {
				return err
			}
		}
	}
	return nil
}

// waitConsumers waits until every work queue has the worker's consumer.
func waitConsumers(ctx context.Context, conn *amqp.Connection, cfg *config.Config, reg *registry.Registry) error {
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ready := true
		for _, c := range reg.Consumers() {
			q, err := ch.QueueDeclarePassive(broker.Names{Prefix: cfg.QueuePrefix, Consumer: c}.Work(), true, false, false, false, nil)
			if err != nil {
				return err
			}
			if q.Consumers < 1 {
				ready = false
			}
		}
		if ready {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the worker did not consume from every queue within 60 s")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// publishers publish the workload's events whose indices are handed to them, keeping the first
// error: the pool that both the preload and the paced run feed.
type publishers struct {
	next chan int
	errc chan error
	wg   sync.WaitGroup
}

func startPublishers(ctx context.Context, pub *publisher.Publisher, wl *workload, workers, buffer int, published *atomic.Int64) *publishers {
	p := &publishers{next: make(chan int, buffer), errc: make(chan error, 1)}
	for range workers {
		p.wg.Go(func() {
			for i := range p.next {
				if err := publishOne(ctx, pub, wl, i); err != nil {
					select {
					case p.errc <- err:
					default:
					}
					continue
				}
				if published != nil {
					published.Add(1)
				}
			}
		})
	}
	return p
}

// stop waits for the publishers and returns the first error, or cause when it is not nil.
func (p *publishers) stop(cause error) error {
	close(p.next)
	p.wg.Wait()
	if cause != nil {
		return cause
	}
	select {
	case err := <-p.errc:
		return err
	default:
		return nil
	}
}

// preload publishes events first to first+n-1 of the workload with 32 publishers at once.
func preload(ctx context.Context, pub *publisher.Publisher, wl *workload, first, n int) error {
	p := startPublishers(ctx, pub, wl, 32, 0, nil)
	for i := first; i < first+n; i++ {
		select {
		case p.next <- i:
		case err := <-p.errc:
			return p.stop(err)
		}
	}
	return p.stop(nil)
}

func publishOne(ctx context.Context, pub *publisher.Publisher, wl *workload, i int) error {
	ev, err := wl.event(i)
	if err != nil {
		return err
	}
	_, err = pub.Publish(ctx, ev)
	return err
}

// pace publishes n events at rate per second: every millisecond tick hands the events due by
// then to 16 publishers. occurred_at is set when an event is published.
func pace(ctx context.Context, pub *publisher.Publisher, wl *workload, n int, rate float64, published *atomic.Int64) error {
	p := startPublishers(ctx, pub, wl, 16, n, published)
	start := time.Now()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	sent := 0
	for sent < n {
		select {
		case <-ctx.Done():
			return p.stop(ctx.Err())
		case err := <-p.errc:
			return p.stop(err)
		case <-tick.C:
		}
		due := min(int(time.Since(start).Seconds()*rate), n)
		for ; sent < due; sent++ {
			p.next <- sent
		}
	}
	return p.stop(nil)
}

// cleanup deletes the bench's queues, exchange and Redis keys.
func cleanup(conn *amqp.Connection, cfg *config.Config, reg *registry.Registry, progress func(string, ...any)) {
	if ch, err := conn.Channel(); err == nil {
		for _, c := range reg.Consumers() {
			qs := broker.Names{Prefix: cfg.QueuePrefix, Consumer: c}.Queues(cfg.RetryDelays)
			for _, q := range append(qs, baselineQueue(cfg.QueuePrefix, c), minimalQueue(cfg.QueuePrefix, c)) {
				_, _ = ch.QueueDelete(q, false, false, false)
			}
		}
		_, _ = ch.QueueDelete(broker.UnroutableQueue(cfg.QueuePrefix), false, false, false)
		_ = ch.ExchangeDelete(broker.UnroutableExchange(reg.Exchange()), false, false)
		_ = ch.ExchangeDelete(reg.Exchange(), false, false)
		_ = ch.Close()
	}
	rdb, err := redisclient.New(cfg.RedisURL, "")
	if err != nil {
		return
	}
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var deleted atomic.Int64
	sweep := func(ctx context.Context, node redis.UniversalClient) error {
		iter := node.Scan(ctx, 0, cfg.QueuePrefix+":*", 1000).Iterator()
		var batch []string
		flush := func() {
			if len(batch) > 0 {
				// One UNLINK per key in a pipeline: on a Cluster the keys lie in many slots.
				_, _ = node.Pipelined(ctx, func(p redis.Pipeliner) error {
					for _, k := range batch {
						p.Unlink(ctx, k)
					}
					return nil
				})
				deleted.Add(int64(len(batch)))
				batch = batch[:0]
			}
		}
		for iter.Next(ctx) {
			if batch = append(batch, iter.Val()); len(batch) == 1000 {
				flush()
			}
		}
		flush()
		return iter.Err()
	}
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		_ = cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error { return sweep(ctx, node) })
	} else {
		_ = sweep(ctx, rdb)
	}
	progress("cleaned up: queues and exchange %s, %d Redis keys", reg.Exchange(), deleted.Load())
}

// keysDB is the Redis URL raw (default redis://localhost:6379/0) with database 15.
func keysDB(raw string) (string, error) {
	if raw == "" {
		raw = "redis://localhost:6379/0"
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
		return "", fmt.Errorf("--keys needs a redis:// or rediss:// EVENTWORKER_REDIS_URL (it uses database 15)")
	}
	u.Path = "/15"
	return u.String(), nil
}

// loadKeys writes n small unrelated keys under the bench's prefix (so cleanup removes them).
func loadKeys(ctx context.Context, cfg *config.Config, n int) error {
	rdb, err := redisclient.New(cfg.RedisURL, "")
	if err != nil {
		return err
	}
	defer rdb.Close()
	if err := LoadKeys(ctx, rdb, cfg.QueuePrefix+":unrelated:", n); err != nil {
		return fmt.Errorf("load unrelated keys: %w", err)
	}
	return nil
}

// LoadKeys writes n small keys named prefix + i (32-byte values, about a small cached value),
// in pipelines of 20 MSETs of 1,000 keys, so no single command holds Redis for long and the
// client buffers little. The keyspace benchmarks of `eventworker bench --keys` and of
// cache/bench_test.go share it.
func LoadKeys(ctx context.Context, rdb redis.Cmdable, prefix string, n int) error {
	const perMSet, perPipe = 1000, 20
	value := "0123456789abcdef0123456789abcdef"
	for start := 0; start < n; start += perMSet * perPipe {
		_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for m := start; m < min(n, start+perMSet*perPipe); m += perMSet {
				kv := make([]any, 0, 2*perMSet)
				for i := m; i < min(n, m+perMSet); i++ {
					kv = append(kv, prefix+strconv.Itoa(i), value)
				}
				p.MSet(ctx, kv...)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// deleteCopies deletes the bare and minimal consumers' queues, which later preloads would fill
// again.
func deleteCopies(conn *amqp.Connection, cfg *config.Config, reg *registry.Registry) error {
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	for _, c := range reg.Consumers() {
		for _, q := range []string{baselineQueue(cfg.QueuePrefix, c), minimalQueue(cfg.QueuePrefix, c)} {
			if _, err := ch.QueueDelete(q, false, false, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// deleteWorkQueues deletes every consumer's work queue.
func deleteWorkQueues(conn *amqp.Connection, cfg *config.Config, reg *registry.Registry) error {
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	for _, c := range reg.Consumers() {
		if _, err := ch.QueueDelete(broker.Names{Prefix: cfg.QueuePrefix, Consumer: c}.Work(), false, false, false); err != nil {
			return err
		}
	}
	return nil
}

// suffixed is path+suffix, or "" for no path.
func suffixed(path, suffix string) string {
	if path == "" {
		return ""
	}
	return path + suffix
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// machine describes the host from /proc.
func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			m.MemoryMiB = kb / 1024
		}
	}
	return m
}

// discardLogger is a silent logger.
var discardLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// dialFirst connects to the first node of url, one URL or a comma-separated list of a
// cluster's nodes, that answers.
func dialFirst(url string) (*amqp.Connection, error) {
	nodes, err := amqpnodes.Parse(url)
	if err != nil {
		return nil, err
	}
	d, err := amqpnodes.NewDialer(amqpnodes.DialerConfig{Nodes: nodes})
	if err != nil {
		return nil, err
	}
	conn, _, err := d.Dial()
	return conn, err
}
