package publisher

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/internal/testenv"
)

// Helpers for the tests against the real RabbitMQ. Every exchange and queue has a unique name
// and is deleted at the end of its test, since other packages' tests share the broker.

// testExchange returns a unique exchange name that is deleted when the test ends.
func testExchange(t *testing.T, url string) string {
	t.Helper()
	name := testenv.Name("pubtest-ex")
	t.Cleanup(func() {
		withChannel(t, url, func(ch *amqp.Channel) error { return ch.ExchangeDelete(name, false, false) })
	})
	return name
}

// withChannel runs f on a channel of a connection of its own, so that a channel error in one
// helper cannot break another.
func withChannel(t *testing.T, url string, f func(ch *amqp.Channel) error) {
	t.Helper()
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Errorf("admin connection to RabbitMQ: %v", err)
		return
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Errorf("admin channel: %v", err)
		return
	}
	if err := f(ch); err != nil {
		t.Errorf("admin operation: %v", err)
	}
}

// newAMQPPublisher starts a publisher on a unique exchange and connection name; it is closed
// when the test ends.
func newAMQPPublisher(t *testing.T, cfg Config) (*Publisher, Config) {
	t.Helper()
	if cfg.URL == "" {
		cfg.URL = testenv.AMQPURL(t)
	}
	if cfg.Exchange == "" {
		cfg.Exchange = testExchange(t, cfg.URL)
	}
	if cfg.ConnectionName == "" {
		cfg.ConnectionName = testenv.Name("pubtest-conn")
	}
	if cfg.Logger == nil {
		cfg.Logger = debugLogger
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	p, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p, cfg
}

// debugLogger receives the publishers' logs in tests: on stderr with PUBLISHER_TEST_LOG=1, to
// see reconnects and retries; otherwise discarded.
var debugLogger = func() *slog.Logger {
	if os.Getenv("PUBLISHER_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}()

// queue is a unique queue bound to an exchange, consumed with auto-ack.
type queue struct {
	name       string
	deliveries <-chan amqp.Delivery
}

// bindQueue declares a queue bound to exchange for each key and consumes it; the queue is
// deleted when the test ends.
func bindQueue(t *testing.T, url, exchange string, keys ...string) *queue {
	t.Helper()
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatalf("consumer connection: %v", err)
	}
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("consumer channel: %v", err)
	}
	name := testenv.Name("pubtest-q")
	t.Cleanup(func() {
		_ = conn.Close()
		withChannel(t, url, func(ch *amqp.Channel) error { _, err := ch.QueueDelete(name, false, false, false); return err })
	})
	if _, err := ch.QueueDeclare(name, false, false, false, false, nil); err != nil {
		t.Fatalf("declare queue %s: %v", name, err)
	}
	for _, k := range keys {
		if err := ch.QueueBind(name, k, exchange, false, nil); err != nil {
			t.Fatalf("bind queue %s to %s with %q: %v", name, exchange, k, err)
		}
	}
	d, err := ch.Consume(name, "", true, false, false, false, nil)
	if err != nil {
		t.Fatalf("consume %s: %v", name, err)
	}
	return &queue{name: name, deliveries: d}
}

// next waits for the next delivery.
func (q *queue) next(t *testing.T, timeout time.Duration) amqp.Delivery {
	t.Helper()
	select {
	case d, ok := <-q.deliveries:
		if !ok {
			t.Fatalf("queue %s: consumer closed before a message arrived", q.name)
		}
		return d
	case <-time.After(timeout):
		t.Fatalf("queue %s: no message within %s", q.name, timeout)
	}
	return amqp.Delivery{}
}

// expectNone fails when a message arrives within wait.
func (q *queue) expectNone(t *testing.T, wait time.Duration) {
	t.Helper()
	select {
	case d := <-q.deliveries:
		t.Errorf("queue %s: unexpected message %s (routing key %s): %s", q.name, d.MessageId, d.RoutingKey, d.Body)
	case <-time.After(wait):
	}
}

// connectionPID returns the broker's pid of the connection with the given connection_name, or ""
// when there is none.
func connectionPID(t *testing.T, name string) string {
	t.Helper()
	ctl := rabbitmqctl(t)
	out, err := exec.Command(ctl, "-q", "--no-table-headers", "list_connections", "pid", "client_properties").CombinedOutput()
	if err != nil {
		t.Fatalf("rabbitmqctl list_connections: %v: %s", err, out)
	}
	needle := fmt.Sprintf(`{"connection_name","%s"}`, name)
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, needle) {
			return strings.Fields(line)[0]
		}
	}
	return ""
}

// closeConnection makes the broker close the one connection named name, as at a broker restart,
// without touching the connections of other tests.
func closeConnection(t *testing.T, name string) string {
	t.Helper()
	var pid string
	for deadline := time.Now().Add(5 * time.Second); pid == "" && time.Now().Before(deadline); {
		if pid = connectionPID(t, name); pid == "" {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if pid == "" {
		t.Fatalf("rabbitmqctl lists no connection named %q", name)
	}
	out, err := exec.Command(rabbitmqctl(t), "-q", "close_connection", pid, "test closes the publisher's connection").CombinedOutput()
	if err != nil {
		t.Fatalf("rabbitmqctl close_connection %s: %v: %s", pid, err, out)
	}
	return pid
}

func rabbitmqctl(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"rabbitmqctl", "/usr/sbin/rabbitmqctl"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	testenv.Unavailable(t, "rabbitmqctl is not installed; it is needed to close the publisher's connection")
	return ""
}
