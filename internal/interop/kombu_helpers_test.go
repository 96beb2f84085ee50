package interop

import (
	"bufio"
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/internal/testenv"
)

// scriptTimeout bounds every Python script.
const scriptTimeout = 60 * time.Second

// runScript runs testdata/name with Kombu's Python to the end and returns its stdout lines; a
// non-zero exit fails the test with the script's stderr.
func runScript(t *testing.T, name string, args ...string) []string {
	t.Helper()
	lines, stderr, err := runScriptErr(t, name, args...)
	if err != nil {
		// args[0] is the AMQP URL, which is not for logs.
		t.Fatalf("%s %s: %v\nstderr:\n%s", name, strings.Join(args[min(1, len(args)):], " "), err, stderr)
	}
	return lines
}

// runScriptErr runs testdata/name and returns its stdout lines, stderr and exit error.
func runScriptErr(t *testing.T, name string, args ...string) ([]string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, testenv.KombuPython(t), append([]string{filepath.Join("testdata", name)}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return nonEmptyLines(stdout.String()), stderr.String(), err
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// script is a Python script running in the background.
type script struct {
	name   string
	lines  chan string
	stderr *testenv.SyncBuffer
	// exited is closed when the script has ended; err is then its exit error.
	exited chan struct{}
	err    error
}

// startScript starts testdata/name and streams its stdout lines; it is killed when the test ends.
func startScript(t *testing.T, name string, args ...string) *script {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	cmd := exec.CommandContext(ctx, testenv.KombuPython(t), append([]string{filepath.Join("testdata", name)}, args...)...)
	s := &script{name: name, lines: make(chan string, 64), stderr: &testenv.SyncBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = s.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatalf("%s: stdout pipe: %v", name, err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
		close(s.lines)
		s.err = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		cancel()
		<-s.exited
	})
	return s
}

// line waits for the script's next stdout line.
func (s *script) line(t *testing.T, timeout time.Duration) string {
	t.Helper()
	select {
	case l, ok := <-s.lines:
		if !ok {
			t.Fatalf("%s ended before printing the expected line; stderr:\n%s", s.name, s.stderr)
		}
		return l
	case <-time.After(timeout):
		t.Fatalf("%s printed nothing within %s; stderr:\n%s", s.name, timeout, s.stderr)
	}
	return ""
}

// wait waits for the script to exit and fails the test on a non-zero exit.
func (s *script) wait(t *testing.T) {
	t.Helper()
	for range s.lines {
	}
	<-s.exited
	if s.err != nil {
		t.Fatalf("%s: %v; stderr:\n%s", s.name, s.err, s.stderr)
	}
}

// withChannel runs f on a channel of a connection of its own.
func withChannel(t *testing.T, url string, f func(ch *amqp.Channel) error) error {
	t.Helper()
	conn, err := amqp.Dial(url)
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	return f(ch)
}

// uniqueExchange returns a unique exchange name, deleted when the test ends.
func uniqueExchange(t *testing.T, url string) string {
	t.Helper()
	name := testenv.Name("interop-ex")
	t.Cleanup(func() {
		if err := withChannel(t, url, func(ch *amqp.Channel) error { return ch.ExchangeDelete(name, false, false) }); err != nil {
			t.Errorf("delete exchange %s: %v", name, err)
		}
	})
	return name
}

// declareKombuExchange declares the exchange from Go with Kombu's flags for
// Exchange(name, type="topic"): topic, durable, not auto-delete, not internal, no arguments.
func declareKombuExchange(t *testing.T, url, name string) {
	t.Helper()
	err := withChannel(t, url, func(ch *amqp.Channel) error {
		return ch.ExchangeDeclare(name, amqp.ExchangeTopic, true, false, false, false, nil)
	})
	if err != nil {
		t.Fatalf("declare exchange %s with Kombu's flags: %v", name, err)
	}
}

// goQueue is a queue that the Go side bound and consumes with amqp091-go.
type goQueue struct {
	name       string
	deliveries <-chan amqp.Delivery
	// closed reports why the consumer's connection closed, if it did.
	closed chan *amqp.Error
}

// bindGoQueue declares a unique queue bound to exchange with each key and consumes it with
// auto-ack; the queue is deleted when the test ends.
func bindGoQueue(t *testing.T, url, exchange string, keys ...string) *goQueue {
	t.Helper()
	return bindGoQueueOf(t, url, exchange, "", keys...)
}

// bindGoQueueOf is bindGoQueue for a durable queue of queueType (quorum or classic), or the
// non-durable classic queue bindGoQueue declares for "".
func bindGoQueueOf(t *testing.T, url, exchange, queueType string, keys ...string) *goQueue {
	t.Helper()
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatalf("consumer connection: %v", err)
	}
	name := testenv.Name("interop-q")
	t.Cleanup(func() {
		_ = conn.Close()
		_ = withChannel(t, url, func(ch *amqp.Channel) error { _, err := ch.QueueDelete(name, false, false, false); return err })
	})
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("consumer channel: %v", err)
	}
	durable, args := false, amqp.Table(nil)
	if queueType != "" {
		durable, args = true, amqp.Table{"x-queue-type": queueType}
	}
	if _, err := ch.QueueDeclare(name, durable, false, false, false, args); err != nil {
		t.Fatalf("declare queue %s: %v", name, err)
	}
	for _, k := range keys {
		if err := ch.QueueBind(name, k, exchange, false, nil); err != nil {
			t.Fatalf("bind %s to %s with %q: %v", name, exchange, k, err)
		}
	}
	d, err := ch.Consume(name, "", true, false, false, false, nil)
	if err != nil {
		t.Fatalf("consume %s: %v", name, err)
	}
	return &goQueue{name: name, deliveries: d, closed: conn.NotifyClose(make(chan *amqp.Error, 1))}
}

// next waits for the next delivery, failing the test with the reason when the connection died.
func (q *goQueue) next(t *testing.T, timeout time.Duration) amqp.Delivery {
	t.Helper()
	select {
	case d, ok := <-q.deliveries:
		if !ok {
			t.Fatalf("queue %s: consumer stopped before a message arrived (connection: %v)", q.name, <-q.closed)
		}
		return d
	case <-time.After(timeout):
		t.Fatalf("queue %s: no message within %s", q.name, timeout)
	}
	return amqp.Delivery{}
}
