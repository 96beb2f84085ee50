package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/handlers"
	"github.com/eventworker/eventworker/internal/analytics"
	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/tenants"
	"github.com/eventworker/eventworker/internal/testenv"
	"github.com/eventworker/eventworker/internal/worker/handling"
	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/registry"
)

// e2e is the whole worker as `eventworker run` wires it (handlers.All, real RabbitMQ, a
// private Redis, emails to file://), on a private exchange, fed by the publisher package.
type e2e struct {
	t        *testing.T
	cfg      *config.Config
	reg      *registry.Registry
	rdb      redis.UniversalClient
	pub      *publisher.Publisher
	mailDir  string
	redisUp  func()
	redisOff func()
	log      *testenv.SyncBuffer // the worker's JSON log
	cancel   context.CancelFunc
	done     chan error
}

// startE2E runs the worker on a private redis-server that the test may kill (redisOff) and
// start again (redisUp).
func startE2E(t *testing.T) *e2e {
	t.Helper()
	// appendfsync always: a killed redis-server keeps every acknowledged write, as a
	// production Redis with AOF does; the test is about the worker losing nothing.
	redisAddr, up, off := privateRedis(t, "--appendonly", "yes", "--appendfsync", "always", "--dir", t.TempDir())
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { rdb.Close() })
	e := startE2EOn(t, "redis://"+redisAddr, rdb)
	e.redisUp, e.redisOff = up, off
	return e
}

// startE2EOn runs the worker on the Redis of redisURL (one server, Sentinel or Cluster), which
// the test reads through rdb.
func startE2EOn(t *testing.T, redisURL string, rdb redis.UniversalClient) *e2e {
	t.Helper()
	amqpURL := testenv.AMQPURL(t)
	name := testenv.Name("ewe2e")
	reg, regFile := privateRegistry(t, name)
	e := &e2e{t: t, reg: reg, mailDir: t.TempDir(), rdb: rdb, log: &testenv.SyncBuffer{}}
	cfg := config.Default()
	cfg.AMQPURL = amqpURL
	cfg.RedisURL = redisURL
	cfg.RegistryFile = regFile
	cfg.QueuePrefix = name
	cfg.CachePrefix = "p:"
	cfg.HTTPAddr = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cfg.MailURL = "file://" + e.mailDir
	cfg.MailFrom = "Platform <mail@platform.example>"
	cfg.MailRate = 0
	cfg.QuickRetries = 1
	cfg.QuickBackoff = 50 * time.Millisecond
	cfg.RetryDelays = []time.Duration{time.Second, time.Second, time.Second}
	cfg.ShutdownTimeout = 5 * time.Second
	// A lease that could not be released while Redis was down holds its event back until it
	// expires; short here so the test does not wait the default two minutes.
	cfg.HandlerTimeout, cfg.MailTimeout = 4*time.Second, 3*time.Second
	cfg.LeaseTTL = 8 * time.Second
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	e.cfg = cfg

	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan error, 1)
	log := slog.New(slog.NewJSONHandler(e.log, nil))
	go func() {
		e.done <- Run(ctx, cfg, log, WithHandlers(func(d handlers.Deps) []handling.Handler { return withStubs(reg, handlers.All(d)) }))
	}()
	t.Cleanup(func() {
		e.stop()
		deleteQueues(t, amqpURL, name, reg.Consumers(), cfg)
		if conn, err := amqp.Dial(amqpURL); err == nil {
			if ch, err := conn.Channel(); err == nil {
				_ = ch.ExchangeDelete(name, false, false)
			}
			conn.Close()
		}
	})
	e.wait("readiness", 30*time.Second, func() bool { code, _ := readyz("http://" + cfg.HTTPAddr + "/readyz"); return code == http.StatusOK })
	pub, err := publisher.New(context.Background(), publisher.Config{URL: amqpURL, Registry: reg, Producer: "e2e-test"})
	if err != nil {
		t.Fatal(err)
	}
	e.pub = pub
	t.Cleanup(func() { e.pub.Close() })
	return e
}

// withStubs adds a no-op handler for each consumer that handlers.All does not cover yet, so
// this test runs while a consumer is being built; once All is complete it adds nothing.
func withStubs(reg *registry.Registry, hs []handling.Handler) []handling.Handler {
	have := map[string]bool{}
	for _, h := range hs {
		have[h.Consumer()] = true
	}
	for _, c := range reg.Consumers() {
		if !have[c] {
			hs = append(hs, handling.Func{Name: c, Types: reg.EventsOf(c), Fn: func(context.Context, *registry.Event) error { return nil }})
		}
	}
	return hs
}

func (e *e2e) stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	e.cancel = nil
	select {
	case err := <-e.done:
		if err != nil {
			e.t.Errorf("Run after shutdown: %v", err)
		}
	case <-time.After(30 * time.Second):
		e.t.Error("Run did not return after shutdown")
	}
}

func (e *e2e) wait(what string, timeout time.Duration, cond func() bool) {
	e.t.Helper()
	waitUntil(e.t, what, timeout, cond)
}

// publish sends one event at a fixed time and returns its event ID; id reuses an ID.
func (e *e2e) publish(tenant string, at time.Time, d registry.Payload, id string) string {
	e.t.Helper()
	ev, err := e.pub.Publish(context.Background(), publisher.Event{ID: id, TenantID: tenant, OccurredAt: at, Data: d})
	if err != nil {
		e.t.Fatalf("publish %s: %v", d.EventType(), err)
	}
	return ev.ID
}

func (e *e2e) emails() []string {
	entries, err := os.ReadDir(e.mailDir)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, en := range entries {
		if strings.HasSuffix(en.Name(), ".eml") {
			out = append(out, en.Name())
		}
	}
	return out
}

func (e *e2e) metric(line string) bool {
	resp, err := http.Get("http://" + e.cfg.HTTPAddr + "/metrics")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(b), line)
}

// TestConsumersEndToEnd drives every consumer through the real wiring: tenant profiles, product
// refreshes out of order, a stream of orders with duplicates while Redis is killed and
// restarted, a tenant suspension purging its caches and suppressing its emails.
func TestConsumersEndToEnd(t *testing.T) {
	e := startE2E(t)
	e.consumersEndToEnd(e.redisOff, func() {
		// Restart only once the worker has noticed: its readiness names Redis.
		e.wait("readiness to report Redis down", 30*time.Second, func() bool {
			code, body := readyz("http://" + e.cfg.HTTPAddr + "/readyz")
			return code == http.StatusServiceUnavailable && strings.Contains(body, "redis")
		})
		e.redisUp()
	})
}

// consumersEndToEnd is TestConsumersEndToEnd's scenario; outage is called after a third of the
// orders and recovery after two thirds (either may be nil).
func (e *e2e) consumersEndToEnd(outage, recovery func()) {
	t := e.t
	ctx := context.Background()
	day := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	ts := tenants.New(e.rdb, e.cfg.CachePrefix)

	e.publish("t1", day, &registry.TenantProvisioned{TenantID: "t1", Name: "Shop One", OwnerEmail: "owner@one.example", Locale: "de", SupportEmail: "help@one.example"}, "")
	e.publish("t2", day, &registry.TenantProvisioned{TenantID: "t2", Name: "Shop Two", OwnerEmail: "owner@two.example"}, "")
	e.wait("tenant profiles", 30*time.Second, func() bool {
		_, ok1, _ := ts.Get(ctx, "t1")
		_, ok2, _ := ts.Get(ctx, "t2")
		return ok1 && ok2
	})

	// Product versions out of order: the cache ends at the newest whatever the arrival order.
	for _, v := range []int64{1, 3, 2, 5, 4} {
		e.publish("t1", day.Add(time.Duration(v)*time.Minute), &registry.ProductUpdated{Product: registry.Product{
			ProductID: "p1", SKU: "SKU-1", Name: fmt.Sprintf("Tent v%d", v), Price: "99.90", Currency: "EUR",
			InventoryQuantity: 100 + v, Version: v,
		}}, "")
	}
	productKey := "p:tenant:t1:product:p1"
	e.wait("product v5 in the cache", 30*time.Second, func() bool {
		var p registry.Product
		b, err := e.rdb.Get(ctx, productKey).Bytes()
		return err == nil && json.Unmarshal(b, &p) == nil && p.Version == 5
	})
	if gen, err := e.rdb.Get(ctx, "p:tenant:t1:products:gen").Int(); err != nil || gen < 1 || gen > 5 {
		t.Errorf("t1's product generation = %d, %v; want 1 to 5 (one per version written)", gen, err)
	}
	if ttl := e.rdb.TTL(ctx, productKey).Val(); ttl <= 0 || ttl > time.Hour {
		t.Errorf("product entry TTL = %s, want the default hour", ttl)
	}

	// A fall below the threshold (default 5): the inventory consumer derives
	// product.inventory_low, and the notifications consumer mails the owner.
	for v, qty := range []int64{10, 2} {
		e.publish("t1", day.Add(time.Duration(v)*time.Minute), &registry.ProductUpdated{Product: registry.Product{
			ProductID: "p2", SKU: "SKU-2", Name: "Stove", Price: "25", Currency: "EUR", InventoryQuantity: qty, Version: int64(v + 1),
		}}, "")
	}
	e.wait("the low-stock alert email", 30*time.Second, func() bool {
		for _, f := range e.emails() {
			if strings.Contains(f, ".low_stock@") {
				return true
			}
		}
		return false
	})

	// Readers' keys, as the Python services write them.
	for _, k := range []string{"p:tenant:t1:products:0:all", "p:tenant:t2:products:0:all", "p:tenant:t2:user:u9", "p:tenant:t2:product:x"} {
		e.rdb.Set(ctx, k, "cached", time.Hour)
	}

	// A stream of orders, with the outage after a third and the recovery after two thirds.
	const orders = 60
	var wantRevenue int64
	want := map[string]int64{}
	var ids []string
	for i := range orders {
		if i == orders/3 && outage != nil {
			outage()
		}
		if i == 2*orders/3 && recovery != nil {
			recovery()
		}
		cust := fmt.Sprintf("c%d", i%7)
		mailAddr := cust + "@example.com"
		ids = append(ids, e.publish("t1", day, &registry.OrderCreated{OrderID: fmt.Sprintf("o%d", i), CustomerID: cust, CustomerEmail: mailAddr, AmountMinor: int64(1000 + i), Currency: "EUR"}, ""))
		want[analytics.OrdersCreated]++
		if i%2 == 0 {
			amount := registry.Decimal(fmt.Sprintf("%d.%02d", 10+i, i%100))
			minor, _ := amount.Minor("EUR")
			wantRevenue += minor
			e.publish("t1", day, &registry.OrderConfirmed{OrderID: fmt.Sprintf("o%d", i), CustomerID: cust, CustomerEmail: mailAddr, Amount: amount, Currency: "EUR"}, "")
			want[analytics.OrdersConfirmed]++
		}
		if i%5 == 0 {
			e.publish("t1", day, &registry.OrderCancelled{OrderID: fmt.Sprintf("o%d", i), CustomerID: cust, CustomerEmail: mailAddr}, "")
			want[analytics.OrdersCancelled]++
		}
		if i%10 == 0 {
			e.publish("t1", day, &registry.UserRegistered{UserID: fmt.Sprintf("u%d", i), Email: fmt.Sprintf("u%d@example.com", i)}, "")
			want[analytics.UsersRegistered]++
		}
	}
	// Redeliveries of already published events: counted and mailed once.
	for _, id := range ids[:5] {
		e.publish("t1", day, &registry.OrderCreated{OrderID: "dup", CustomerID: "c0", CustomerEmail: "c0@example.com", AmountMinor: 1, Currency: "EUR"}, id)
	}
	want[analytics.RevenuePrefix+"EUR"] = wantRevenue

	stats := analytics.New(e.rdb, e.cfg.CachePrefix)
	var got map[string]int64
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("analytics counters: got %v, want %v", got, want)
		}
	})
	e.wait("analytics to count every event once", 120*time.Second, func() bool {
		days, err := stats.Days(ctx, "t1", day, 1)
		if err != nil {
			return false
		}
		got = days[0].Counters
		if len(got) != len(want) {
			return false
		}
		for k, v := range want {
			if got[k] != v {
				return false
			}
		}
		return true
	})
	wantEmails := 2 + 1 + orders + int(want[analytics.OrdersConfirmed]+want[analytics.OrdersCancelled]+want[analytics.UsersRegistered])
	e.wait(fmt.Sprintf("%d emails", wantEmails), 60*time.Second, func() bool { return len(e.emails()) >= wantEmails })

	// Suspend t2: its caches go, its generation moves on, t1 and the worker's state stay.
	e.publish("t2", day.Add(time.Hour), &registry.TenantSuspended{TenantID: "t2", Reason: "unpaid"}, "")
	e.wait("t2's cache purge", 30*time.Second, func() bool { return e.rdb.Exists(ctx, "p:tenant:t2:products:0:all").Val() == 0 })
	for k, wantN := range map[string]int64{"p:tenant:t2:user:u9": 0, "p:tenant:t2:product:x": 0, "p:tenant:t1:products:0:all": 1, productKey: 1} {
		if n := e.rdb.Exists(ctx, k).Val(); n != wantN {
			t.Errorf("after t2's purge, EXISTS %s = %d, want %d", k, n, wantN)
		}
	}
	if gen, err := e.rdb.Get(ctx, "p:tenant:t2:products:gen").Int(); err != nil || gen != 1 {
		t.Errorf("t2's generation after the purge = %d, %v; want 1", gen, err)
	}
	e.wait("t2 suspended", 30*time.Second, func() bool { p, _, _ := ts.Get(ctx, "t2"); return p.Suspended })
	if p, ok, err := ts.Get(ctx, "t2"); err != nil || !ok || p.Name != "Shop Two" {
		t.Errorf("t2's profile after the purge: %+v, %v, %v; the worker's state must survive", p, ok, err)
	}

	// A suspended tenant's customer gets no email; the event is acknowledged and counted.
	e.publish("t2", day.Add(2*time.Hour), &registry.OrderCancelled{OrderID: "o-t2", CustomerID: "c", CustomerEmail: "c@example.com"}, "")
	e.wait("the suppressed email to be counted", 30*time.Second, func() bool {
		return e.metric(`eventworker_emails_suppressed_total{template="order_cancelled"} 1`)
	})
	if n := len(e.emails()); n != wantEmails {
		t.Errorf("%d emails written, want %d: one per event, none for the suspended tenant, none twice", n, wantEmails)
	}

	// A customer email of t1 is German, branded and replies to the support address (an owner's
	// email comes from the platform instead).
	var customerEmail string
	for _, name := range e.emails() {
		if strings.Contains(name, ".order_received") {
			customerEmail = name
			break
		}
	}
	if customerEmail == "" {
		t.Fatalf("no order_received email among %v", e.emails())
	}
	b, err := os.ReadFile(filepath.Join(e.mailDir, customerEmail))
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); !strings.Contains(s, "Shop One") || !strings.Contains(s, "Reply-To: \"Shop One\" <help@one.example>") {
		t.Errorf("email lacks the shop's branding:\n%.600s", s)
	}

	// Nothing was dead-lettered.
	conn, err := amqp.Dial(e.cfg.AMQPURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range e.reg.Consumers() {
		q := broker.Names{Prefix: e.cfg.QueuePrefix, Consumer: c}.DeadLetter()
		if info, err := ch.QueueDeclarePassive(q, true, false, false, false, nil); err != nil || info.Messages != 0 {
			t.Errorf("dead letters of %s: %d (%v), want 0", c, info.Messages, err)
		}
	}
}
