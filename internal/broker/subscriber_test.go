package broker_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/testenv"
)

// subEnv is a queue of the test's own on the real RabbitMQ and a Subscriber for it.
type subEnv struct {
	t     *testing.T
	url   string
	queue string
	conn  *amqp.Connection
	ch    *amqp.Channel
	sub   *broker.Subscriber
}

func newSubEnv(t *testing.T, prefetch int) *subEnv {
	t.Helper()
	url := testenv.AMQPURL(t)
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	e := &subEnv{t: t, url: url, queue: testenv.Name("ewsub"), conn: conn, ch: ch}
	t.Cleanup(func() {
		c, err := conn.Channel()
		if err == nil {
			_, _ = c.QueueDelete(e.queue, false, false, false)
		}
	})
	e.sub, err = broker.NewSubscriber(broker.SubscriberConfig{
		URL: url, Prefetch: prefetch, ConnectionName: "ewsub-test",
		Queue: func(string) string { return e.queue },
		// The queue is declared on every (re)subscription, as the worker's topology is.
		Declare: func(ch *amqp.Channel, _ string) error {
			_, err := ch.QueueDeclare(e.queue, true, false, false, false, amqp.Table{"x-queue-type": "quorum"})
			return err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.sub.Close() })
	return e
}

func (e *subEnv) publish(n int) {
	e.t.Helper()
	if _, err := e.ch.QueueDeclare(e.queue, true, false, false, false, amqp.Table{"x-queue-type": "quorum"}); err != nil {
		e.t.Fatal(err)
	}
	for i := range n {
		if err := e.ch.PublishWithContext(context.Background(), "", e.queue, false, false, amqp.Publishing{
			MessageId: strconv.Itoa(i), Body: []byte(fmt.Sprintf(`{"n":%d}`, i)), DeliveryMode: amqp.Persistent,
		}); err != nil {
			e.t.Fatal(err)
		}
	}
}

// ready returns how many messages wait in the queue, -1 when it does not exist.
func (e *subEnv) ready() int {
	e.t.Helper()
	c, err := e.conn.Channel()
	if err != nil {
		e.t.Fatal(err)
	}
	defer c.Close()
	q, err := c.QueueDeclarePassive(e.queue, true, false, false, false, nil)
	if err != nil {
		return -1
	}
	return q.Messages
}

func waitFor(t *testing.T, what string, bound time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", bound, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSubscriberHandsOverManyAndAcksThem: with prefetch 50 the subscriber hands over many
// messages at once; they finish out of order, some are nacked once; in the end every message was
// handled, the nacked ones again, and nothing is left in the queue, acknowledged or not.
func TestSubscriberHandsOverManyAndAcksThem(t *testing.T) {
	e := newSubEnv(t, 50)
	const n = 500
	e.publish(n)
	msgs, err := e.sub.Subscribe(context.Background(), "t")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	nacked, again := n/10, 0 // every message whose number ends in 7 is nacked once
	maxInFlight, inFlight := 0, 0
	done := make(chan struct{})
	go func() {
		for msg := range msgs {
			go func(msg *message.Message) {
				mu.Lock()
				inFlight++
				maxInFlight = max(maxInFlight, inFlight)
				seen[msg.UUID]++
				first := seen[msg.UUID] == 1
				if !first {
					again++
				}
				complete := len(seen) == n && again >= nacked
				mu.Unlock()
				time.Sleep(time.Duration(len(msg.UUID)) * time.Millisecond) // finish out of order
				mu.Lock()
				inFlight--
				mu.Unlock()
				if d, ok := broker.DeliveryOf(msg); !ok || d.MessageId != msg.UUID {
					t.Errorf("DeliveryOf(%s) = %v, %v", msg.UUID, d, ok)
				}
				if first && msg.UUID[len(msg.UUID)-1] == '7' {
					msg.Nack()
					return
				}
				msg.Ack()
				if complete {
					select {
					case <-done:
					default:
						close(done)
					}
				}
			}(msg)
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("not every message was handed over")
	}
	e.sub.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.sub.Wait(ctx); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if err := e.sub.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if maxInFlight < 10 {
		t.Errorf("at most %d messages in flight at once; the subscriber should hand over up to the prefetch", maxInFlight)
	}
	for i := range n {
		want := 1
		if strconv.Itoa(i)[len(strconv.Itoa(i))-1] == '7' {
			want = 2
		}
		if got := seen[strconv.Itoa(i)]; got < want {
			t.Errorf("message %d handled %d times, want %d", i, got, want)
		}
	}
	// Once the subscriber's channel is closed, anything it left unacknowledged would be ready.
	if r := e.ready(); r != 0 {
		t.Errorf("%d messages left in the queue", r)
	}
}

// TestSubscriberStopFinishesWhatWasDelivered: Stop cancels the consumer, but the messages
// RabbitMQ already delivered (the prefetch) are still handed over and acknowledged, so they do not
// go back to the queue, where each return would count toward the delivery limit. The one
// exception is a delivery the broker sends after it has sent basic.cancel-ok (it freed the slot
// of an ack that crossed the cancel): amqp091-go drops deliveries for a cancelled consumer, so it
// comes back once, counted; here one ack crosses the cancel.
func TestSubscriberStopFinishesWhatWasDelivered(t *testing.T) {
	e := newSubEnv(t, 20)
	e.publish(100)
	msgs, err := e.sub.Subscribe(context.Background(), "t")
	if err != nil {
		t.Fatal(err)
	}
	first := <-msgs
	e.sub.Stop() // the prefetch window holds up to 20 deliveries now
	first.Ack()
	handled := 1
	for msg := range msgs {
		handled++
		msg.Ack()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.sub.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	_ = e.sub.Close()
	// The window is 20; the first message's ack may reach the broker before the cancel and free a
	// slot that the broker fills before it reads the cancel: 21 at most.
	if handled < 2 || handled > 21 {
		t.Errorf("handled %d after Stop, want the prefetch window's (2 to 20, or 21 with the slot the first ack freed)", handled)
	}
	// Nothing was returned: the rest are first deliveries.
	c, err := e.conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var counted []string
	for {
		d, ok, err := c.Get(e.queue, true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		if n, _ := broker.HeaderInt(d.Headers["x-delivery-count"]); d.Redelivered || n != 0 {
			counted = append(counted, d.MessageId)
		}
	}
	if len(counted) > 1 {
		t.Errorf("messages %v came back to the queue counted; at most the one an ack freed during the cancel may", counted)
	}
}

// TestSubscriberSurvivesADeletedQueue: when the queue is deleted under the consumer, RabbitMQ
// cancels it and closes its delivery channel. That is never a message (an empty one would be
// dead-lettered as invalid); the subscription is not ready until it consumes again, which it
// does once its queue is declared again.
func TestSubscriberSurvivesADeletedQueue(t *testing.T) {
	e := newSubEnv(t, 10)
	e.publish(1)
	msgs, err := e.sub.Subscribe(context.Background(), "t")
	if err != nil {
		t.Fatal(err)
	}
	(<-msgs).Ack()
	waitFor(t, "ready", 10*time.Second, func() bool { return e.sub.Ready() == nil })
	if _, err := e.ch.QueueDelete(e.queue, false, false, false); err != nil {
		t.Fatal(err)
	}
	// The subscription declares its queue again and consumes it; the message published then
	// is the next one it hands over.
	waitFor(t, "consuming again", 15*time.Second, func() bool { return e.sub.Ready() == nil && e.ready() == 0 })
	e.publish(1)
	select {
	case msg, ok := <-msgs:
		if !ok || len(msg.Payload) == 0 || msg.UUID != "0" {
			t.Fatalf("after the queue was deleted, got %v (open %v)", msg, ok)
		}
		msg.Ack()
	case <-time.After(15 * time.Second):
		t.Fatal("no message after the queue came back")
	}
}

// TestSubscriberNotReadyWhileBrokerRefuses: a subscriber whose broker does not answer is not
// ready and says so.
func TestSubscriberNotReadyWhileBrokerRefuses(t *testing.T) {
	sub, err := broker.NewSubscriber(broker.SubscriberConfig{
		URL: fmt.Sprintf("amqp://guest:secret@127.0.0.1:%d/", testenv.FreePort(t)), Prefetch: 1,
		Queue: func(string) string { return "q" },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if _, err := sub.Subscribe(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := sub.Ready(); err == nil {
		t.Error("Ready with no broker = nil")
	}
}

func TestSubscriberConfigValidate(t *testing.T) {
	_, err := broker.NewSubscriber(broker.SubscriberConfig{URL: "http://x", Prefetch: 0})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"amqp://", "prefetch 0", "Queue is nil"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// TestSubscriberDeclaresAgainWhileConsuming: while a queue is consumed its topology is declared
// again now and then, so a queue an operator deleted beside it (the dead-letter queue the broker
// dead-letters into) comes back by itself.
func TestSubscriberDeclaresAgainWhileConsuming(t *testing.T) {
	url := testenv.AMQPURL(t)
	work, side := testenv.Name("ewsub"), testenv.Name("ewsub-side")
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Cleanup(func() {
		if ch, err := conn.Channel(); err == nil {
			_, _ = ch.QueueDelete(work, false, false, false)
			_, _ = ch.QueueDelete(side, false, false, false)
		}
	})
	sub, err := broker.NewSubscriber(broker.SubscriberConfig{
		URL: url, Prefetch: 1, DeclareEvery: 100 * time.Millisecond,
		Queue: func(string) string { return work },
		Declare: func(ch *amqp.Channel, _ string) error {
			for _, q := range []string{work, side} {
				if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
					return err
				}
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if _, err := sub.Subscribe(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "consuming", 10*time.Second, func() bool { return sub.Ready() == nil })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDelete(side, false, false, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deleted queue declared again", 10*time.Second, func() bool {
		c, err := conn.Channel()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, err = c.QueueDeclarePassive(side, true, false, false, false, nil)
		return err == nil
	})
}

// TestSubscriberSaysWhatIsWrongWithTheLogin: a wrong password or a missing vhost is not "RabbitMQ
// unreachable": readiness and the log say what RabbitMQ refused and what to fix, without the
// password.
func TestSubscriberSaysWhatIsWrongWithTheLogin(t *testing.T) {
	base := testenv.AMQPURL(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		url  func() string
		want []string
	}{
		{"wrong password", func() string {
			v := *u
			v.User = url.UserPassword(v.User.Username(), "s3cret-wrong")
			return v.String()
		},
			[]string{"403", "check the user and password in EVENTWORKER_AMQP_URL"}},
		{"missing vhost", func() string { v := *u; v.Path = "/" + testenv.Name("novhost"); return v.String() },
			[]string{"530", "create the vhost"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs testenv.SyncBuffer
			sub, err := broker.NewSubscriber(broker.SubscriberConfig{
				URL: tc.url(), Prefetch: 1, Queue: func(string) string { return "q" },
				Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
			})
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			if _, err := sub.Subscribe(context.Background(), "t"); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the refusal reported", 10*time.Second, func() bool {
				err := sub.Ready()
				return err != nil && errors.Is(err, broker.ErrRefused)
			})
			ready := sub.Ready().Error()
			for _, want := range tc.want {
				if !strings.Contains(ready, want) || !strings.Contains(logs.String(), want) {
					t.Errorf("readiness %q or the log does not say %q:\n%s", ready, want, logs.String())
				}
			}
			if strings.Contains(ready+logs.String(), "s3cret-wrong") || !strings.Contains(logs.String(), `"level":"ERROR"`) {
				t.Errorf("the password shows, or the refusal is not an ERROR line:\n%s", logs.String())
			}
		})
	}
}

// TestSubscriberReadinessIsItsOwn: another replica consumes the queue, and this subscriber's
// own subscription cannot (its declaration fails): it is not ready, whatever the broker's
// consumer count of the queue says. Once it consumes, it is.
func TestSubscriberReadinessIsItsOwn(t *testing.T) {
	e := newSubEnv(t, 10)
	e.publish(0)
	if _, err := e.ch.Consume(e.queue, "another-replica", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	var broken atomic.Bool
	broken.Store(true)
	sub, err := broker.NewSubscriber(broker.SubscriberConfig{
		URL: e.url, Prefetch: 10, Queue: func(string) string { return e.queue }, MaxBackoff: 200 * time.Millisecond,
		Declare: func(ch *amqp.Channel, _ string) error {
			if broken.Load() {
				return errors.New("declaration refused")
			}
			_, err := ch.QueueDeclare(e.queue, true, false, false, false, amqp.Table{"x-queue-type": "quorum"})
			return err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if _, err := sub.Subscribe(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	info, err := e.ch.QueueDeclarePassive(e.queue, true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = sub.Ready()
	if info.Consumers == 0 || err == nil || !strings.Contains(err.Error(), e.queue) {
		t.Errorf("queue has %d consumers (another replica's), Ready = %v: want not ready, naming %s", info.Consumers, err, e.queue)
	}
	broken.Store(false)
	waitFor(t, "ready once it consumes", 10*time.Second, func() bool { return sub.Ready() == nil })
}
