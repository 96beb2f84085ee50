//go:build faults

package app

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/handlers"
	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/emails"
	"github.com/eventworker/eventworker/internal/testenv"
	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/registry"
)

// publishOrders publishes n order.created events and returns the Message-IDs of their emails.
func (f *faultEnv) publishOrders(n int) map[string]bool {
	f.t.Helper()
	pub, err := publisher.New(context.Background(), publisher.Config{URL: f.amqpURL, Registry: f.reg, Producer: "faults-test"})
	if err != nil {
		f.t.Fatal(err)
	}
	defer pub.Close()
	return f.publishOrdersWith(pub, 0, n)
}

// publishOrdersWith publishes n order.created events with pub, numbered from first, and returns
// the Message-IDs of their emails.
func (f *faultEnv) publishOrdersWith(pub *publisher.Publisher, first, n int) map[string]bool {
	f.t.Helper()
	want := map[string]bool{}
	for i := first; i < first+n; i++ {
		id := uuid.NewString()
		if _, err := pub.Publish(context.Background(), publisher.Event{ID: id, TenantID: "t1", Data: &registry.OrderCreated{
			OrderID: fmt.Sprintf("o%d", i), CustomerID: "c1", CustomerEmail: fmt.Sprintf("c%d@example.com", i),
			AmountMinor: 1000, Currency: "EUR",
		}}); err != nil {
			f.t.Fatal(err)
		}
		want[handlers.MessageID(id, emails.OrderReceived, faultFromAddr)] = true
	}
	return want
}

// sinkHolds reports whether the SMTP sink received an email of every Message-ID of want.
func (f *faultEnv) sinkHolds(want map[string]bool) bool {
	got := map[string]bool{}
	for _, m := range f.sink.Messages() {
		got[messageID(m.Data)] = true
	}
	for id := range want {
		if !got[id] {
			return false
		}
	}
	return true
}

// logLines counts the lines of every worker's log that contain s.
func (f *faultEnv) logLines(s string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, p := range f.procs {
		b, err := os.ReadFile(p.logs)
		if err != nil {
			f.t.Fatal(err)
		}
		n += strings.Count(string(b), s)
	}
	return n
}

// inFlight sums eventworker_in_flight of consumer over the live workers.
func (f *faultEnv) inFlight(consumer string) int {
	n := 0
	f.eachLiveMetric(func(line string) {
		if rest, ok := strings.CutPrefix(line, `eventworker_in_flight{consumer="`+consumer+`"} `); ok {
			var v float64
			if _, err := fmt.Sscan(rest, &v); err == nil {
				n += int(v)
			}
		}
	})
	return n
}

// TestFaultRestartsDeadLetterNothing: 60 events wait behind a slow relay with
// EVENTWORKER_DELIVERY_LIMIT=2, and the worker is stopped and started three times while most of
// them are prefetched and not yet handled; then one worker finishes. Stopped with SIGTERM (a
// rolling deploy), the worker hands back nothing it was delivered; killed with SIGKILL (a crash
// loop), it hands back its prefetch each time, which the quorum queue counts toward its limit,
// and publishes anew what reaches the limit unhandled. Either way nothing is dead-lettered and
// every email arrives.
func TestFaultRestartsDeadLetterNothing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		signal syscall.Signal
	}{
		{"SIGTERM", syscall.SIGTERM},
		{"SIGKILL", syscall.SIGKILL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := startFaultEnv(t, testenv.AMQPURL(t))
			// 16 emails a second: each worker has most of its prefetch of 32 unhandled when
			// it is stopped half a second after it started.
			f.sink.SetDataDelay(500 * time.Millisecond)
			settings := []string{"EVENTWORKER_DELIVERY_LIMIT=2"}
			const n = 150
			p := f.start(settings...) // declares the queues
			want := f.publishOrders(n)
			for cycle := range 3 {
				if cycle > 0 {
					p = f.start(settings...)
				}
				time.Sleep(500 * time.Millisecond)
				if err := p.cmd.Process.Signal(tc.signal); err != nil {
					t.Fatal(err)
				}
				select {
				case <-p.done:
				case <-time.After(30 * time.Second):
					t.Fatalf("cycle %d: the worker did not exit within 30 s:\n%s", cycle+1, tail(p.logs, 20))
				}
				p.killed = true
			}
			beforeLast := len(f.sink.Messages())
			last := f.start(settings...)
			f.waitFor("every email", 90*time.Second, func() bool {
				got := 0
				seen := map[string]bool{}
				for _, m := range f.sink.Messages() {
					if id := messageID(m.Data); want[id] && !seen[id] {
						seen[id] = true
						got++
					}
				}
				return got == n
			})
			time.Sleep(time.Second) // a dead letter the broker made late would show now
			dead := f.deadLetters()
			renewed := f.logLines("event published anew")
			t.Logf("figures %d events, delivery limit 2, %s and restart x3: %d emails sent (%d distinct) of which %d before the last start, %d dead-lettered, %d published anew at the limit",
				n, tc.name, len(f.sink.Messages()), n, beforeLast, dead, renewed)
			if dead != 0 {
				t.Errorf("%d events dead-lettered, want none:\n%s", dead, tail(last.logs, 20))
			}
			if beforeLast >= n {
				t.Errorf("every email went out before the last start: the restarts found no backlog")
			}
			// A stopped worker hands back nothing; a killed one hands back its prefetch.
			if errs := f.logLines(`"level":"ERROR"`); tc.signal == syscall.SIGTERM && errs != 0 {
				t.Errorf("%d ERROR lines in the logs of workers stopped with SIGTERM, want none: an alert on them would fire at every deploy", errs)
			}
			if tc.signal == syscall.SIGTERM && renewed != 0 {
				t.Errorf("%d messages reached the delivery limit with SIGTERM, want none: a stopping worker returned them", renewed)
			}
			if tc.signal == syscall.SIGKILL && renewed == 0 {
				t.Errorf("no message reached the delivery limit with SIGKILL: the test did not return prefetched messages")
			}
		})
	}
}

// TestFaultPoisonMessageIsDeadLettered: a message whose handler is running each time the worker
// dies (here: SIGKILL while its email waits on a relay that never answers) is dead-lettered as
// delivery_limit once its handler died as often as EVENTWORKER_DELIVERY_LIMIT allows, instead of
// killing workers for ever.
func TestFaultPoisonMessageIsDeadLettered(t *testing.T) {
	f := startFaultEnv(t, testenv.AMQPURL(t))
	relay := silentRelay(t)
	settings := []string{
		"EVENTWORKER_DELIVERY_LIMIT=2", "EVENTWORKER_LEASE_TTL=3s",
		"EVENTWORKER_MAIL_URL=smtp://" + relay + "?starttls=none",
		"EVENTWORKER_HANDLER_TIMEOUT=60s", "EVENTWORKER_MAIL_TIMEOUT=60s", "EVENTWORKER_SHUTDOWN_TIMEOUT=70s",
	}
	p := f.start(settings...) // declares the queues
	f.publishOrders(1)
	began := time.Now()
	kills := 0
	for {
		if kills > 0 {
			p = f.start(settings...)
		}
		running := false
		f.waitFor("the handler running, or the event dead-lettered", 60*time.Second, func() bool {
			// Twice, apart: a delivery that only finds the lease held passes in a moment.
			running = f.inFlight(handlers.ConsumerNotifications) > 0
			if running {
				time.Sleep(300 * time.Millisecond)
				running = f.inFlight(handlers.ConsumerNotifications) > 0
			}
			return running || f.deadLetters() > 0
		})
		if !running {
			break
		}
		f.kill(p)
		kills++
		if kills > 5 {
			t.Fatalf("killed %d times and still not dead-lettered", kills)
		}
	}
	conn, err := amqp.Dial(f.amqpURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	q := broker.Names{Prefix: f.name, Consumer: handlers.ConsumerNotifications}.DeadLetter()
	d, ok, err := ch.Get(q, true)
	if err != nil || !ok {
		t.Fatalf("no dead letter in %s: %v", q, err)
	}
	t.Logf("figures a message that kills the worker, delivery limit 2: dead-lettered after %d kills, %.0fs; reason %q",
		kills, time.Since(began).Seconds(), d.Headers[broker.HeaderReason])
	if d.Headers[broker.HeaderErrorClass] != broker.ClassDeliveryLimit {
		t.Errorf("class %v, want %s", d.Headers[broker.HeaderErrorClass], broker.ClassDeliveryLimit)
	}
	if kills != 3 {
		t.Errorf("dead-lettered after %d kills, want 3: the first run and two counted ones", kills)
	}
	if n := f.deadLetters(); n != 0 {
		t.Errorf("%d more dead letters, want none", n)
	}
}
