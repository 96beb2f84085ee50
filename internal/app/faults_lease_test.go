//go:build faults

package app

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/eventworker/eventworker/handlers"
	"github.com/eventworker/eventworker/internal/emails"
	"github.com/eventworker/eventworker/internal/testenv"
	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/registry"
)

// TestFaultKilledWorkersEmailsAreSentAgainWithin30s: a worker with emails in flight (a slow
// relay takes 2 s to accept each) is killed with SIGKILL, and a new one starts at once. The
// emails' processing leases, which nobody renews any more, run out after the default lease TTL
// (15 s), and the new worker sends every email within 30 s of the kill. A lease taken for the
// handler's whole run, as long as its timeout, would have held them for minutes.
func TestFaultKilledWorkersEmailsAreSentAgainWithin30s(t *testing.T) {
	f := startFaultEnv(t, testenv.AMQPURL(t))
	f.sink.SetDataDelay(2 * time.Second)
	const lease = "EVENTWORKER_LEASE_TTL=15s" // the default; the other fault tests shorten it
	slow := []string{lease, "EVENTWORKER_HANDLER_TIMEOUT=30s", "EVENTWORKER_SHUTDOWN_TIMEOUT=35s"}
	first := f.start(slow...)
	pub, err := publisher.New(context.Background(), publisher.Config{URL: f.amqpURL, Registry: f.reg, Producer: "faults-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	const n = 8
	want := map[string]bool{}
	for i := range n {
		id := uuid.NewString()
		if _, err := pub.Publish(context.Background(), publisher.Event{ID: id, TenantID: "t1", Data: &registry.OrderCreated{
			OrderID: fmt.Sprintf("o%d", i), CustomerID: "c1", CustomerEmail: fmt.Sprintf("c%d@example.com", i),
			AmountMinor: 1000, Currency: "EUR",
		}}); err != nil {
			t.Fatal(err)
		}
		want[handlers.MessageID(id, emails.OrderReceived, faultFromAddr)] = true
	}
	// Every SMTP connection of the worker (faultResendBound) now waits for the relay.
	time.Sleep(time.Second)
	f.kill(first)
	killed := time.Now()
	before := len(f.sink.Messages())
	f.start(slow...)
	// The new worker handles each event itself: those whose leases the killed one held once
	// the leases ran out.
	f.waitFor("every event handled by the new worker", 90*time.Second, func() bool { return f.outcomes()["ok"] >= n })
	took := time.Since(killed)
	got := map[string]int{}
	for _, m := range f.sink.Messages() {
		if id := messageID(m.Data); want[id] {
			got[id]++
		}
	}
	if len(got) != n {
		t.Errorf("%d of %d emails arrived", len(got), n)
	}
	extra := 0
	for _, c := range got {
		extra += c - 1
	}
	outcomes := f.outcomes()
	t.Logf("figures SIGKILL with emails in flight: %d emails, %d accepted before the kill, every event handled by the new worker %.1fs after the kill; %d emails sent twice (in flight at the kill); new worker's outcomes %v",
		n, before, took.Seconds(), extra, outcomes)
	if took > 30*time.Second {
		t.Errorf("the last event was handled %.1fs after the kill, want within 30 s", took.Seconds())
	}
	if outcomes["retried"] == 0 {
		t.Error("the new worker never found a lease of the killed one held: the test did not kill a worker with emails in flight")
	}
	if extra > faultResendBound {
		t.Errorf("%d emails sent twice, more than the %d the killed worker could have had in flight", extra, faultResendBound)
	}
}
