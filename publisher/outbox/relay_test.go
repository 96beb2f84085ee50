package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	amqp "github.com/rabbitmq/amqp091-go"
	"go.opentelemetry.io/otel/trace"

	"github.com/eventworker/eventworker/internal/testenv"
	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/registry"
)

// testLogger shows the relay's logs with -v when EVENTWORKER_TEST_DEBUG is set.
func testLogger() *slog.Logger {
	if os.Getenv("EVENTWORKER_TEST_DEBUG") != "" {
		return slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	return slog.New(slog.DiscardHandler)
}

// broker is a unique exchange with a queue bound to every routing key, consumed into msgs.
type broker struct {
	url      string
	exchange string
	msgs     chan amqp.Delivery
}

func newBroker(t *testing.T) *broker {
	t.Helper()
	url := testenv.AMQPURL(t)
	b := &broker{url: url, exchange: testenv.Name("outbox-ex"), msgs: make(chan amqp.Delivery, 100000)}
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare(b.exchange, "topic", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c, err := amqp.Dial(url); err == nil {
			if ch, err := c.Channel(); err == nil {
				_ = ch.ExchangeDelete(b.exchange, false, false)
			}
			_ = c.Close()
		}
	})
	q, err := ch.QueueDeclare(testenv.Name("outbox-q"), false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(q.Name, "#", b.exchange, false, nil); err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for d := range deliveries {
			b.msgs <- d
		}
	}()
	return b
}

// take receives n messages within timeout.
func (b *broker) take(t *testing.T, n int, timeout time.Duration) []amqp.Delivery {
	t.Helper()
	var out []amqp.Delivery
	deadline := time.After(timeout)
	for len(out) < n {
		select {
		case d := <-b.msgs:
			out = append(out, d)
		case <-deadline:
			t.Fatalf("received %d messages within %s, want %d", len(out), timeout, n)
		}
	}
	return out
}

// quiet checks that nothing more arrives for d.
func (b *broker) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case m := <-b.msgs:
		t.Errorf("unexpected message %s (%s)", m.MessageId, m.RoutingKey)
	case <-time.After(d):
	}
}

func relayConfig(dsn, amqpURL, exchange string) Config {
	return Config{
		DSN:          dsn,
		Publisher:    publisher.Config{URL: amqpURL, Exchange: exchange, ConnectionName: testenv.Name("outbox-relay")},
		PollInterval: 500 * time.Millisecond,
		MinBackoff:   50 * time.Millisecond,
		MaxBackoff:   500 * time.Millisecond,
		Logger:       testLogger(),
	}
}

// runRelay runs a relay until the returned stop is called (or the test ends).
func runRelay(t *testing.T, cfg Config) (*Relay, func()) {
	t.Helper()
	r, err := NewRelay(cfg)
	if err != nil {
		t.Fatalf("NewRelay: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return r, stop
}

// enqueueOrders commits one transaction per order of tenant, orders seq from..to-1.
func enqueueOrders(t *testing.T, db *sql.DB, tenant string, from, to int) {
	t.Helper()
	enq := NewEnqueuer(publisher.Config{Producer: "orders"})
	for i := from; i < to; i++ {
		tx, err := db.Begin()
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := enq.EnqueuePayload(context.Background(), SQL(tx), tenant, order(fmt.Sprintf("o-%06d", i))); err != nil {
			t.Error(err)
			_ = tx.Rollback()
			return
		}
		if err := tx.Commit(); err != nil {
			t.Error(err)
			return
		}
	}
}

func TestRelayDeliversCommittedOnly(t *testing.T) {
	t.Parallel()
	dsn := outboxDB(t)
	db := openSQL(t, dsn)
	b := newBroker(t)
	ctx := context.Background()
	enq := NewEnqueuer(publisher.Config{Producer: "orders"})

	// The producer's span: its context must travel in traceparent.
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	traced := trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))

	rolledBack, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enq.EnqueuePayload(ctx, SQL(rolledBack), "shop-1", order("o-rolled-back")); err != nil {
		t.Fatal(err)
	}
	if err := rolledBack.Rollback(); err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	ev, err := enq.Enqueue(traced, SQL(tx), publisher.Event{TenantID: "shop-1", Data: order("o-committed")})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	r, _ := runRelay(t, relayConfig(dsn, b.url, b.exchange))
	got := b.take(t, 1, 20*time.Second)[0]
	if got.MessageId != ev.ID || got.RoutingKey != "order.created" || got.AppId != "orders" {
		t.Errorf("message id %q key %q app %q, want %q order.created orders", got.MessageId, got.RoutingKey, got.AppId, ev.ID)
	}
	if tp, _ := got.Headers["traceparent"].(string); tp != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" {
		t.Errorf("traceparent %q, want the producer's span", tp)
	}
	reg, _ := registry.Default()
	if sent, err := reg.Validate(got.RoutingKey, got.Body); err != nil || sent.ID != ev.ID {
		t.Errorf("body: %v (event %v)", err, sent)
	}
	b.quiet(t, 1500*time.Millisecond)

	var unsent int
	if err := db.QueryRow("SELECT count(*) FROM " + Table + " WHERE sent_at IS NULL").Scan(&unsent); err != nil {
		t.Fatal(err)
	}
	if unsent != 0 {
		t.Errorf("%d rows unsent after delivery", unsent)
	}
	if n := testutil.ToFloat64(r.m.published); n != 1 {
		t.Errorf("published metric %v, want 1", n)
	}
}

// TestRelayNotifyWakes: with a poll interval far longer than the test, the notification of a
// commit is what makes the relay send.
func TestRelayNotifyWakes(t *testing.T) {
	t.Parallel()
	dsn := outboxDB(t)
	db := openSQL(t, dsn)
	b := newBroker(t)
	cfg := relayConfig(dsn, b.url, b.exchange)
	cfg.PollInterval = time.Hour
	runRelay(t, cfg)
	time.Sleep(500 * time.Millisecond) // the relay's first look finds nothing and waits
	start := time.Now()
	enqueueOrders(t, db, "shop-1", 0, 1)
	b.take(t, 1, 10*time.Second)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("delivered %s after commit, want well under the poll interval", d)
	}
}

// checkOnceInOrder asserts that msgs hold each order of every tenant exactly once, in order.
func checkOnceInOrder(t *testing.T, msgs []amqp.Delivery, tenants, perTenant int) {
	t.Helper()
	reg, _ := registry.Default()
	seen := map[string]bool{}
	next := map[string]int{}
	for _, m := range msgs {
		if seen[m.MessageId] {
			t.Errorf("event %s delivered twice", m.MessageId)
			continue
		}
		seen[m.MessageId] = true
		ev, err := reg.Validate(m.RoutingKey, m.Body)
		if err != nil {
			t.Fatal(err)
		}
		var d registry.OrderCreated
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			t.Fatal(err)
		}
		seq, _ := strconv.Atoi(d.OrderID[2:])
		if seq != next[ev.TenantID] {
			t.Errorf("tenant %s: order %d arrived when %d was due", ev.TenantID, seq, next[ev.TenantID])
		}
		next[ev.TenantID] = seq + 1
	}
	if len(next) != tenants {
		t.Errorf("%d tenants delivered, want %d", len(next), tenants)
	}
	for tenant, n := range next {
		if n != perTenant {
			t.Errorf("tenant %s: %d orders delivered, want %d", tenant, n, perTenant)
		}
	}
}

func TestTwoRelaysSendEachRowOnceInOrder(t *testing.T) {
	t.Parallel()
	const tenants, perTenant = 8, 100
	dsn := outboxDB(t)
	db := openSQL(t, dsn)
	b := newBroker(t)
	for range 2 {
		cfg := relayConfig(dsn, b.url, b.exchange)
		cfg.BatchSize, cfg.Tenants = 20, 3 // small batches, so the relays take turns often
		runRelay(t, cfg)
	}
	var wg sync.WaitGroup
	for i := range tenants {
		wg.Go(func() { enqueueOrders(t, db, fmt.Sprintf("shop-%d", i), 0, perTenant) })
	}
	wg.Wait()
	msgs := b.take(t, tenants*perTenant, 60*time.Second)
	b.quiet(t, 2*time.Second)
	checkOnceInOrder(t, msgs, tenants, perTenant)
}

// deadPort returns a local address that refuses connections.
func deadPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// switchableProxy forwards to RabbitMQ only while up; while down it cuts every connection.
type switchableProxy struct {
	addr  string
	up    atomic.Bool
	mu    sync.Mutex
	conns []net.Conn
}

func newSwitchableProxy(t *testing.T, target string) *switchableProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &switchableProxy{addr: l.Addr().String()}
	t.Cleanup(func() { _ = l.Close(); p.setUp(false) })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if !p.up.Load() {
				_ = c.Close()
				continue
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); _ = u.Close() }()
			go func() { _, _ = io.Copy(c, u); _ = c.Close() }()
		}
	}()
	return p
}

func (p *switchableProxy) setUp(up bool) {
	p.up.Store(up)
	if !up {
		p.mu.Lock()
		for _, c := range p.conns {
			_ = c.Close()
		}
		p.conns = nil
		p.mu.Unlock()
	}
}

// TestRelayBrokerDownDelaysAndLosesNothing: the broker unreachable at start and again after some
// rows went out; rows wait, failures count, and everything arrives once it is back.
func TestRelayBrokerDownDelaysAndLosesNothing(t *testing.T) {
	t.Parallel()
	const perTenant = 30
	dsn := outboxDB(t)
	db := openSQL(t, dsn)
	b := newBroker(t)
	u, err := amqpURLHost(b.url)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newSwitchableProxy(t, u)
	r, _ := runRelay(t, relayConfig(dsn, "amqp://guest:guest@"+proxy.addr+"/", b.exchange))

	enqueueOrders(t, db, "shop-1", 0, 10)
	time.Sleep(3 * time.Second)
	b.quiet(t, 0)
	if f := testutil.ToFloat64(r.m.failures.WithLabelValues(stagePublish)); f == 0 {
		t.Error("no publish failure counted while the broker was unreachable")
	}
	proxy.setUp(true)
	first := b.take(t, 10, 20*time.Second)
	// Cut only once the relay has the confirms: an event in flight at the cut would rightly be
	// sent again.
	waitUnsent(t, db, 0, 10*time.Second)

	proxy.setUp(false) // down again, with a connection open this time
	enqueueOrders(t, db, "shop-1", 10, perTenant)
	time.Sleep(10 * time.Second)
	b.quiet(t, 0)
	proxy.setUp(true)
	rest := b.take(t, perTenant-10, 30*time.Second)
	b.quiet(t, time.Second)
	checkOnceInOrder(t, append(first, rest...), 1, perTenant)
}

// waitUnsent waits until want rows are unsent.
func waitUnsent(t *testing.T, db *sql.DB, want int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var n int
		if err := db.QueryRow("SELECT count(*) FROM " + Table + " WHERE sent_at IS NULL").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rows unsent after %s, want %d", n, timeout, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func amqpURLHost(raw string) (string, error) {
	u, err := amqp.ParseURI(raw)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(u.Host, strconv.Itoa(u.Port)), nil
}

func TestRelayConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{name: "empty", cfg: Config{}, want: []string{"dsn: empty", "publisher url: empty"}},
		{name: "negative", cfg: Config{DSN: "postgres://x@h/db", Publisher: publisher.Config{URL: "amqp://h/"}, BatchSize: -1, MinBackoff: 2 * time.Second, MaxBackoff: time.Second},
			want: []string{"batch size: -1", "max backoff 1s is below min backoff 2s"}},
	}
	for _, tt := range tests {
		_, err := NewRelay(tt.cfg)
		if err == nil {
			t.Fatalf("%s: NewRelay accepted the config", tt.name)
		}
		for _, w := range tt.want {
			if !containsStr(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tt.name, err, w)
			}
		}
	}
	if _, err := NewRelay(Config{DSN: "postgres://x@h/db", Publisher: publisher.Config{URL: "amqp://" + deadPort(t) + "/"}}); err != nil {
		t.Errorf("a valid config was refused: %v", err)
	}
}

func containsStr(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// relayChildEnv names the DSN that the child process of TestRelaySIGKILL relays from.
const relayChildEnv = "EVENTWORKER_OUTBOX_CHILD_DSN"

// TestRelayChild is the relay process that TestRelaySIGKILL kills; it does nothing otherwise.
func TestRelayChild(t *testing.T) {
	dsn := os.Getenv(relayChildEnv)
	if dsn == "" {
		t.Skip("only run as TestRelaySIGKILL's child process")
	}
	cfg := relayConfig(dsn, os.Getenv(relayChildEnv+"_AMQP"), os.Getenv(relayChildEnv+"_EXCHANGE"))
	cfg.BatchSize = 50
	r, err := NewRelay(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_ = r.Run(context.Background()) // until killed
}

// TestRelaySIGKILL kills a relay process mid-stream; a second relay sends the rest, and only
// the killed one's in-flight batch may arrive twice.
func TestRelaySIGKILL(t *testing.T) {
	t.Parallel()
	const perTenant, batch = 400, 50
	dsn := outboxDB(t)
	db := openSQL(t, dsn)
	b := newBroker(t)
	enqueueOrders(t, db, "shop-1", 0, perTenant)

	cmd := exec.Command(os.Args[0], "-test.run=^TestRelayChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), relayChildEnv+"="+dsn, relayChildEnv+"_AMQP="+b.url, relayChildEnv+"_EXCHANGE="+b.exchange)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first := b.take(t, 60, 30*time.Second) // mid-stream: more than one batch out
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	time.Sleep(200 * time.Millisecond) // messages confirmed before the kill still in the consumer
drain:
	for {
		select {
		case d := <-b.msgs:
			first = append(first, d)
		default:
			break drain
		}
	}

	runRelay(t, relayConfig(dsn, b.url, b.exchange))
	seen := map[string]bool{}
	for _, d := range first {
		seen[d.MessageId] = true
	}
	var all []amqp.Delivery
	all = append(all, first...)
	dups := 0
	deadline := time.After(60 * time.Second)
	for len(seen) < perTenant {
		select {
		case d := <-b.msgs:
			if seen[d.MessageId] {
				dups++
				continue
			}
			seen[d.MessageId] = true
			all = append(all, d)
		case <-deadline:
			t.Fatalf("%d of %d events delivered after the restart", len(seen), perTenant)
		}
	}
	b.quiet(t, time.Second)
	if dups > batch {
		t.Errorf("%d events sent twice, more than the killed relay's batch of %d", dups, batch)
	}
	t.Logf("%d events sent before the kill, %d sent again after it", len(first), dups)
	// Order holds among first deliveries: a resent event repeats an earlier one.
	checkOnceInOrder(t, all, 1, perTenant)
}

// producerChildEnv names the DSN the child process of TestProducerKilledAfterCommit writes to.
const producerChildEnv = "EVENTWORKER_OUTBOX_PRODUCER_DSN"

// TestProducerChild is the producer that TestProducerKilledAfterCommit kills: it commits one
// event, prints its event_id and waits, as a producer about to publish would.
func TestProducerChild(t *testing.T) {
	dsn := os.Getenv(producerChildEnv)
	if dsn == "" {
		t.Skip("only run as TestProducerKilledAfterCommit's child process")
	}
	db := openSQL(t, dsn)
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	id, err := NewEnqueuer(publisher.Config{Producer: "orders"}).EnqueuePayload(context.Background(), SQL(tx), "shop-1", order("o-000000"))
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("committed %s\n", id)
	time.Sleep(time.Hour) // until killed
}

// TestProducerKilledAfterCommit: a producer killed with SIGKILL right after its commit, before
// any publish, has its event delivered once a relay runs.
func TestProducerKilledAfterCommit(t *testing.T) {
	t.Parallel()
	dsn := outboxDB(t)
	b := newBroker(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestProducerChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), producerChildEnv+"="+dsn)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var id string
	if _, err := fmt.Fscanf(out, "committed %s\n", &id); err != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("read the child's event_id: %v", err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	runRelay(t, relayConfig(dsn, b.url, b.exchange))
	got := b.take(t, 1, 20*time.Second)[0]
	if got.MessageId != id {
		t.Errorf("delivered %s, want the killed producer's %s", got.MessageId, id)
	}
	b.quiet(t, time.Second)
}

// TestOverlappingTransactionsKeepCommitOrder: two transactions of one tenant overlap, the one
// that began writing first committing last, while an unrelated transaction stays open: the
// tenant's events go out in the order their transactions committed. The second transaction's
// Enqueue waits for the first's commit.
func TestOverlappingTransactionsKeepCommitOrder(t *testing.T) {
	t.Parallel()
	dsn := outboxDB(t)
	db := openSQL(t, dsn)
	b := newBroker(t)
	ctx := context.Background()
	enq := NewEnqueuer(publisher.Config{Producer: "orders"})
	begin := func() *sql.Tx {
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		// A write of its own: the transaction has its id from here on.
		if _, err := tx.Exec("SELECT pg_current_xact_id()"); err != nil {
			t.Fatal(err)
		}
		return tx
	}
	unrelated := begin()
	defer unrelated.Rollback()
	late := begin() // began first, commits last
	first := begin()
	if _, err := enq.EnqueuePayload(ctx, SQL(first), "shop-1", order("o-first")); err != nil {
		t.Fatal(err)
	}
	lateDone := make(chan error, 1)
	go func() {
		_, err := enq.EnqueuePayload(ctx, SQL(late), "shop-1", order("o-second"))
		if err == nil {
			err = late.Commit()
		}
		lateDone <- err
	}()
	select {
	case err := <-lateDone:
		t.Fatalf("the second transaction enqueued while the first was open: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := first.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-lateDone; err != nil {
		t.Fatal(err)
	}

	runRelay(t, relayConfig(dsn, b.url, b.exchange))
	got := b.take(t, 2, 20*time.Second)
	reg, _ := registry.Default()
	var orders []string
	for _, m := range got {
		ev, err := reg.Validate(m.RoutingKey, m.Body)
		if err != nil {
			t.Fatal(err)
		}
		orders = append(orders, ev.Payload.(*registry.OrderCreated).OrderID)
	}
	if len(orders) != 2 || orders[0] != "o-first" || orders[1] != "o-second" {
		t.Errorf("sent %v, want o-first then o-second, their commit order", orders)
	}
}
