package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/registry"
)

// The minimal consumer's settings: several channels with a deep prefetch, the shape that
// drained fastest when it was tuned by hand. They are the limit of the work, not the worker's
// defaults.
const (
	minimalChannels = 4
	minimalPrefetch = 200
)

// minimalConsumer is the consumer whose copy of the work queue the minimal consumer drains: one
// queue, the cache consumer's, whose product events are the work it mimics.
const minimalConsumer = "cache"

// minimalQueue is the minimal consumer's copy of a consumer's queue.
func minimalQueue(prefix, consumer string) string { return prefix + ".min." + consumer }

// runMinimal drains the minimal consumer's copy of the cache queue with amqp091-go: a few
// channels, each with a deep prefetch and one goroutine; per message it decodes the envelope,
// makes one pipelined Redis write (for a product change: SET the product's key and INCR the
// tenant's list generation, as the contract's cache keys have it; for any other event: SET a
// key of the event and INCR a counter) and acknowledges. No schema validation, idempotency,
// metrics, logs or timeouts: it is the limit of the work, what no real consumer can beat.
func runMinimal(ctx context.Context, cfg *config.Config, rdb redis.UniversalClient, rec *recorder, timeout time.Duration) error {
	conn, err := dialFirst(cfg.AMQPURL)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	for range minimalChannels {
		ch, err := conn.Channel()
		if err != nil {
			return err
		}
		if err := ch.Qos(minimalPrefetch, 0, false); err != nil {
			return err
		}
		deliveries, err := ch.Consume(minimalQueue(cfg.QueuePrefix, minimalConsumer), "", false, false, false, false, nil)
		if err != nil {
			return err
		}
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case d, ok := <-deliveries:
					if !ok {
						return
					}
					if err := handleMinimal(ctx, cfg, rdb, rec, d); err != nil {
						select {
						case errc <- err:
						default:
						}
						return
					}
				}
			}
		})
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

// minimalEnvelope is what the minimal consumer reads of an event.
type minimalEnvelope struct {
	ID         string          `json:"event_id"`
	Type       string          `json:"event_type"`
	TenantID   string          `json:"tenant_id"`
	OccurredAt time.Time       `json:"occurred_at"`
	Data       json.RawMessage `json:"data"`
}

func handleMinimal(ctx context.Context, cfg *config.Config, rdb redis.UniversalClient, rec *recorder, d amqp.Delivery) error {
	rec.begin()
	start := time.Now()
	var env minimalEnvelope
	if err := json.Unmarshal(d.Body, &env); err != nil {
		return fmt.Errorf("minimal consumer: %w", err)
	}
	key, counter := cfg.CachePrefix+"tenant:"+env.TenantID+":event:"+env.ID, cfg.CachePrefix+"tenant:"+env.TenantID+":events"
	if strings.HasPrefix(env.Type, "product.") {
		var p struct {
			ProductID string `json:"product_id"`
		}
		if err := json.Unmarshal(env.Data, &p); err != nil {
			return fmt.Errorf("minimal consumer: %s data: %w", env.Type, err)
		}
		key, counter = cfg.CachePrefix+"tenant:"+env.TenantID+":product:"+p.ProductID, cfg.CachePrefix+"tenant:"+env.TenantID+":products:gen"
	}
	pipe := rdb.Pipeline()
	pipe.Set(ctx, key, []byte(env.Data), cfg.CacheTTL)
	pipe.Incr(ctx, counter)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("minimal consumer: redis: %w", err)
	}
	rec.record(minimalConsumer, start, &registry.Event{OccurredAt: env.OccurredAt}, true)
	return d.Ack(false)
}
