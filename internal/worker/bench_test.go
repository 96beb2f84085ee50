package worker

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/idempotency"
	"github.com/eventworker/eventworker/internal/metrics"
	"github.com/eventworker/eventworker/internal/testenv"
	"github.com/eventworker/eventworker/registry"
)

// scriptRedis answers every script with reply and nothing else: enough for the idempotency
// store, without I/O. The embedded nil client panics on anything else.
type scriptRedis struct {
	redis.UniversalClient
	reply int64
}

func (r scriptRedis) EvalSha(ctx context.Context, _ string, _ []string, _ ...any) *redis.Cmd {
	return redis.NewCmdResult(r.reply, nil)
}

type nopPublisher struct{}

func (nopPublisher) Publish(context.Context, string, string, amqp.Publishing) error { return nil }

type nopHandler struct{}

func (nopHandler) Consumer() string                              { return "cache" }
func (nopHandler) EventTypes() []string                          { return []string{"product.created", "product.updated"} }
func (nopHandler) Handle(context.Context, *registry.Event) error { return nil }

// BenchmarkPipeline measures the worker's own cost per message: validation, the idempotency
// store's bookkeeping, metrics, logging and the dead-letter publishing, with Redis, the broker
// and the handler replaced by in-process fakes that do nothing, so no I/O is counted:
// go test ./internal/worker -run '^$' -bench Pipeline -benchmem
func BenchmarkPipeline(b *testing.B) {
	reg, err := registry.Default()
	if err != nil {
		b.Fatal(err)
	}
	valid := []byte(`{"event_id":"2775daad-71c5-4e80-a7cf-54509e646edc","event_type":"product.updated","event_version":1,` +
		`"occurred_at":"2026-11-20T08:00:00Z","tenant_id":"acme","producer":"catalog-go","data":{"product_id":"prod-12","sku":"TEE-ORG-M",` +
		`"name":"Organic cotton T-shirt, size M","price":22.5,"currency":"USD","inventory_quantity":95,"version":2}}`)
	invalid := []byte(`{"event_id":"2775daad-71c5-4e80-a7cf-54509e646edc","event_type":"product.updated","event_version":1,` +
		`"occurred_at":"2026-11-20T08:00:00Z","tenant_id":"acme","data":{"product_id":"prod-12","sku":"TEE-ORG-M","currency":"usd"}}`)
	for _, c := range []struct {
		name  string
		body  []byte
		reply int64 // of the begin script: 0 acquired, 1 done
		cache bool  // a cache of validated events that has this body already
	}{
		{"handled", valid, 0, false},
		{"handled-validated-for-another-consumer", valid, 0, true},
		{"duplicate", valid, 1, false},
		{"invalid-dead-lettered", invalid, 0, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			cfg := config.Default()
			wc := workerConfig(cfg)
			m := metrics.New(prometheus.NewRegistry())
			m.InitConsumer("cache")
			p := &pipeline{
				consumer: "cache", handler: nopHandler{}, reg: reg,
				dedupe: idempotency.New(scriptRedis{reply: c.reply}, "bench:", cfg.IdempotencyTTL, cfg.LeaseTTL),
				out:    nopPublisher{}, m: m, names: broker.Names{Prefix: "eventworker", Consumer: "cache"}, cfg: &wc,
				log:  slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})),
				gate: newGate(), handles: map[string]bool{"product.updated": true, "product.created": true},
			}
			if c.cache {
				p.valid = newValidCache()
			}
			msg, err := broker.Marshaler{}.Unmarshal(amqp.Delivery{
				RoutingKey: "product.updated", MessageId: "2775daad-71c5-4e80-a7cf-54509e646edc",
				ContentType: "application/json", Body: c.body, Headers: amqp.Table{"producer": "catalog-go"},
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			start := testenv.CPUTime()
			for b.Loop() {
				if err := p.handle(msg); err != nil {
					b.Fatal(err)
				}
			}
			testenv.ReportCPU(b, start)
		})
	}
}
