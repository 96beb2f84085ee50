package cli

import (
	"context"
	"strings"
	"time"

	"github.com/eventworker/eventworker/internal/bench"
)

const benchSummary = "Benchmark the worker against the real RabbitMQ and Redis, beside bare and minimal consumers"

const benchUsage = `Runs the worker as deployed (app.Run with every handler) in a child process on a private
exchange, queues and Redis key prefix of the RabbitMQ and Redis of $EVENTWORKER_AMQP_URL and
$EVENTWORKER_REDIS_URL, and deletes them at the end. Other EVENTWORKER_* settings apply to the
worker (concurrency, prefetch, ...); the mail rate limit is lifted unless EVENTWORKER_MAIL_RATE is
set, and emails go to a local SMTP sink.

drain: preloads --events events of --mix, then times the worker's drain: throughput, end-to-end
lag from occurred_at (p50, p95, p99; it includes the time in the queue), the child's CPU seconds
and peak RSS. --baseline drains the same events, preloaded into copies of the queues, with a bare
amqp091-go consumer doing the same Redis work, and prints the ratio. --minimal drains a copy of
the cache queue with the minimal consumer (decode the envelope, one pipelined Redis write, ack;
4 channels, prefetch 200): the limit of the work. --consumers fills only the named consumers'
queues (say cache, or cache,inventory); every run reports handler calls/s, CPU µs per call,
Redis commands and round trips per call (and what the server ran, INFO commandstats) and peak
RSS. --mix orders (order.created only) with --consumers notifications measures emails through
the worker.
steady: publishes at --rate events/s for --duration while the worker runs, and reports the lag.
--emails N also sends N emails through the mailer to the sink over one reused connection.
--keys N (drain) drains a second time after loading N unrelated keys, both drains in Redis
database 15, and compares the cache consumer's throughput and CPU per event.
--replicas N (drain) runs N worker children at once on the same queues, as the replicas of a
deployment: the figures are their total throughput, their summed CPU per call and the largest
peak RSS. $EVENTWORKER_AMQP_URL may list a cluster's nodes.
See BENCHMARKS.md.`

func runBench(ctx context.Context, e *env, path string, args []string) int {
	if spec := e.getenv(bench.ChildEnv); spec != "" {
		if err := bench.Child(ctx, spec, e.getenv, e.stdout, e.stderr); err != nil {
			return e.fail(path, err)
		}
		return exitOK
	}
	f := newFlags(path, "Usage: "+path+" [--mode drain|steady] [--events N] [--mix product|mixed|orders|tenants] [--rate R]\n"+
		"       [--duration D] [--consumers C1,C2] [--baseline] [--minimal] [--emails N] [--keys N] [--replicas N]\n"+
		"       [--json] [--cpuprofile FILE]\n\n"+benchUsage)
	mode := f.String("mode", bench.ModeDrain, "drain or steady")
	events := f.Int("events", 20000, "`N` events to preload (drain)")
	mix := f.String("mix", bench.MixProduct, "product (product.updated only), mixed (shop traffic), orders (order.created only) or tenants (tenant.* events)")
	rate := f.Float64("rate", 1000, "events per second (steady)")
	duration := f.Duration("duration", 10*time.Second, "how long to publish (steady)")
	baseline := f.Bool("baseline", false, "also drain the workload with the bare consumer (drain)")
	minimal := f.Bool("minimal", false, "also drain the cache queue's copy with the minimal consumer (drain)")
	consumers := f.String("consumers", "", "fill only these consumers' queues, comma-separated (drain; default every consumer of the mix)")
	emails := f.Int("emails", 0, "also send `N` emails to the local SMTP sink")
	keys := f.Int("keys", 0, "drain a second time with `N` unrelated keys in Redis database 15 (drain)")
	replicas := f.Int("replicas", 1, "run `N` worker children at once on the same queues (drain)")
	asJSON := f.Bool("json", false, "print JSON instead of tables")
	cpuprofile := f.String("cpuprofile", "", "write the worker child's CPU profile to `FILE` (the bare consumer's to FILE.bare, the --keys drain's to FILE.keys)")
	if status, ok := f.parseFlagsOnly(e, args); !ok {
		return status
	}
	switch {
	case *mode != bench.ModeDrain && *mode != bench.ModeSteady:
		return e.usageError(path, "--mode %q is neither drain nor steady", *mode)
	case *mix != bench.MixProduct && *mix != bench.MixMixed && *mix != bench.MixOrders && *mix != bench.MixTenants:
		return e.usageError(path, "--mix %q is none of product, mixed, orders and tenants", *mix)
	case *events < 1:
		return e.usageError(path, "--events %d must be at least 1", *events)
	case *rate <= 0 || *duration <= 0:
		return e.usageError(path, "--rate and --duration must be positive")
	case *emails < 0 || *keys < 0:
		return e.usageError(path, "--emails and --keys must not be negative")
	case *replicas < 1:
		return e.usageError(path, "--replicas %d must be at least 1", *replicas)
	case *replicas > 1 && *mode != bench.ModeDrain:
		return e.usageError(path, "--replicas works in drain mode only")
	}
	rep, err := bench.Bench(ctx, bench.Options{
		Mode: *mode, Events: *events, Mix: *mix, Rate: *rate, Duration: *duration, Baseline: *baseline,
		Minimal: *minimal, Consumers: splitList(*consumers),
		Emails: *emails, Keys: *keys, Replicas: *replicas, CPUProfile: *cpuprofile, Getenv: e.getenv, Progress: e.stderr,
	})
	if err != nil {
		return e.fail(path, err)
	}
	if *asJSON {
		err = rep.WriteJSON(e.stdout)
	} else {
		err = rep.WriteText(e.stdout)
	}
	if err != nil {
		return e.fail(path, err)
	}
	return exitOK
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
