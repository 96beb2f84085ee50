package worker

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/worker/dedupe"
	"github.com/eventworker/eventworker/registry"
)

// TestStateListsEventsInFlight blocks the handlers of one event and checks that State names it
// in flight, with the leases its handlers hold, and forgets both once the handlers return.
func TestStateListsEventsInFlight(t *testing.T) {
	e := newEnv(t, nil)
	id := uuid.NewString()
	release := make(chan struct{})
	e.rec.fail = func(_ string, ev *registry.Event, _ int) error {
		if ev.ID == id {
			<-release
		}
		return nil
	}
	e.start()
	before := time.Now()
	e.publish("order.created", e.example("order.created", id), nil)
	var s State
	e.waitFor("both consumers of order.created to show it in flight", 15*time.Second, func() bool {
		s = e.worker.State()
		return consumerState(s, "notifications").InFlight == 1 && consumerState(s, "analytics").InFlight == 1 && len(s.Leases) == 2
	})
	if !s.Running {
		t.Error("State says the worker is not running")
	}
	for _, name := range []string{"notifications", "analytics"} {
		c := consumerState(s, name)
		if c.Queue != e.cfg.QueuePrefix+"."+name || c.Concurrency != 2 || len(c.EventTypes) == 0 {
			t.Errorf("%s: queue %q, concurrency %d, event types %v", name, c.Queue, c.Concurrency, c.EventTypes)
		}
		if c.Circuit.State != CircuitClosed {
			t.Errorf("%s: circuit %q, want closed", name, c.Circuit.State)
		}
		if len(c.Events) != 1 {
			t.Fatalf("%s: events %+v, want one", name, c.Events)
		}
		ev := c.Events[0]
		if ev.EventID != id || ev.EventType != "order.created" || ev.TenantID == "" || ev.Attempt != 1 ||
			ev.StartedAt.Before(before) || ev.Age <= 0 {
			t.Errorf("%s: in flight %+v, want event %s, order.created, a tenant, attempt 1, started after %s", name, ev, id, before)
		}
	}
	for _, l := range s.Leases {
		if l.EventID != id || (l.Consumer != "notifications" && l.Consumer != "analytics") || l.Since.Before(before) || l.TTL != e.cfg.LeaseTTL {
			t.Errorf("lease %+v, want one of event %s taken after %s with TTL %s", l, id, before, e.cfg.LeaseTTL)
		}
	}
	if got := consumerState(s, "cache"); got.InFlight != 0 || len(got.Events) != 0 {
		t.Errorf("cache does not take order.created but shows %+v", got)
	}

	close(release)
	e.waitFor("the event to leave the state", 15*time.Second, func() bool {
		s = e.worker.State()
		return consumerState(s, "notifications").InFlight == 0 && consumerState(s, "analytics").InFlight == 0 && len(s.Leases) == 0
	})
	if err := e.stop(); err != nil {
		t.Fatal(err)
	}
	if e.worker.State().Running {
		t.Error("State says the worker runs after it shut down")
	}
}

func consumerState(s State, name string) ConsumerState {
	for _, c := range s.Consumers {
		if c.Name == name {
			return c
		}
	}
	return ConsumerState{}
}

func TestCircuitFollowsTheBreaker(t *testing.T) {
	if got := (*breaker)(nil).circuit(0); got.State != CircuitOff {
		t.Errorf("no breaker with EVENTWORKER_PAUSE_AFTER=0: %q, want off", got.State)
	}
	if got := (*breaker)(nil).circuit(5); got.State != CircuitClosed {
		t.Errorf("a breaker not built yet: %q, want closed", got.State)
	}
	b, _ := testBreaker(2)
	down := errors.New("mail server unavailable")
	steps := []struct {
		name  string
		do    func()
		state string
		cause string
		fails int
	}{
		{"new", func() {}, CircuitClosed, "", 0},
		{"one unavailable", func() { b.done(false, unavailable, down) }, CircuitClosed, down.Error(), 1},
		{"two: open", func() { b.done(false, unavailable, down) }, CircuitOpen, down.Error(), 2},
		{"probing: half-open", func() {
			if ok, probe := admitWithin(b, time.Second); !ok || !probe {
				t.Fatalf("no probe admitted: %v %v", ok, probe)
			}
		}, CircuitHalfOpen, down.Error(), 2},
		{"the probe gets through: closed", func() { b.done(true, available, nil) }, CircuitClosed, down.Error(), 0},
	}
	var lastSince time.Time
	for _, s := range steps {
		s.do()
		got := b.circuit(2)
		if got.State != s.state || got.Cause != s.cause || got.UnavailableInARow != s.fails {
			t.Errorf("%s: %+v, want %s, cause %q, %d unavailable in a row", s.name, got, s.state, s.cause, s.fails)
		}
		if got.State == CircuitOpen && !got.NextProbe.After(got.Since) {
			t.Errorf("%s: next probe %s is not after it opened, %s", s.name, got.NextProbe, got.Since)
		}
		if got.Since.Before(lastSince) {
			t.Errorf("%s: since went back from %s to %s", s.name, lastSince, got.Since)
		}
		lastSince = got.Since
	}
	if lastSince.IsZero() {
		t.Error("since was never set")
	}
}

// trackedFakeStore acquires every lease; its leases count their calls.
type trackedFakeStore struct{ kept atomic.Bool }

func (f *trackedFakeStore) Begin(_ context.Context, _, eventID string) (dedupe.State, dedupe.Lease, error) {
	if eventID == "done" {
		return dedupe.Done, nil, nil
	}
	return dedupe.Acquired, &trackedFake{store: f}, nil
}

type trackedFake struct{ store *trackedFakeStore }

func (l *trackedFake) Complete(context.Context) error { return nil }
func (l *trackedFake) Release(context.Context) error  { return errors.New("redis down") }
func (l *trackedFake) Renew(context.Context) (bool, error) {
	return l.store.kept.Load(), nil
}
func (l *trackedFake) TTL() time.Duration { return 15 * time.Second }

func TestLeaseTrackerKeepsHeldLeases(t *testing.T) {
	if trackLeases(nil) != nil {
		t.Fatal("a nil store must stay nil")
	}
	store := &trackedFakeStore{}
	store.kept.Store(true)
	tr := trackLeases(store)
	ctx := context.Background()
	begin := func(consumer, id string) dedupe.Lease {
		t.Helper()
		_, l, err := tr.Begin(ctx, consumer, id)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	held := func() (out []string) {
		for _, l := range tr.snapshot() {
			out = append(out, l.Consumer+"/"+l.EventID)
		}
		return out
	}
	if begin("notifications", "done") != nil || len(held()) != 0 {
		t.Fatalf("a done event holds no lease: %v", held())
	}
	a, b, c := begin("notifications", "e1"), begin("analytics", "e1"), begin("notifications", "e2")
	if got := held(); len(got) != 3 || got[0] != "notifications/e1" {
		t.Fatalf("held %v, want 3, oldest first", got)
	}
	before := tr.snapshot()[0].Renewed
	time.Sleep(time.Millisecond)
	if kept, _ := a.Renew(ctx); !kept || !tr.snapshot()[0].Renewed.After(before) {
		t.Error("a renewal is not recorded")
	}
	_ = a.Complete(ctx)
	if err := b.Release(ctx); err == nil {
		t.Error("the store's error is lost")
	}
	if got := held(); len(got) != 1 || got[0] != "notifications/e2" {
		t.Errorf("after Complete and a failed Release: %v, want notifications/e2", got)
	}
	store.kept.Store(false)
	if kept, _ := c.Renew(ctx); kept || len(held()) != 0 {
		t.Errorf("a lease taken elsewhere is still held: %v", held())
	}
}

func TestFlightsOfABodyThatIsNoEvent(t *testing.T) {
	f := newFlights()
	msg := message.NewMessage("msg-1", []byte("not json"))
	msg.Metadata.Set(broker.MetaRoutingKey, "order.created")
	msg.Metadata.Set(broker.MetaAttempts, "2")
	var seen []InFlightEvent
	var n int
	handle := f.track(func(*message.Message) error {
		n, seen = f.snapshot(StateEventsMax, time.Now())
		return nil
	})
	if err := handle(msg); err != nil {
		t.Fatal(err)
	}
	if n != 1 || len(seen) != 1 || seen[0].EventID != "msg-1" || seen[0].EventType != "order.created" || seen[0].Attempt != 3 {
		t.Errorf("in flight %d: %+v, want msg-1, order.created, attempt 3", n, seen)
	}
	if n, _ := f.snapshot(StateEventsMax, time.Now()); n != 0 {
		t.Errorf("%d in flight after the handler returned", n)
	}
}

func TestFlightsListTheOldestWithinTheLimit(t *testing.T) {
	f := newFlights()
	start := time.Now()
	for i := range 5 {
		f.m[message.NewMessage(string(rune('a'+i)), nil)] = flight{start: start.Add(time.Duration(i) * time.Second)}
	}
	n, evs := f.snapshot(2, start.Add(10*time.Second))
	if n != 5 || len(evs) != 2 || evs[0].EventID != "a" || evs[1].EventID != "b" || evs[0].Age != 10*time.Second {
		t.Errorf("n %d, events %+v: want 5, a and b, a 10s old", n, evs)
	}
}

// BenchmarkFlights measures what tracking a message in flight costs the pipeline, per message:
// go test ./internal/worker -run '^$' -bench Flights -benchmem
func BenchmarkFlights(b *testing.B) {
	f := newFlights()
	handle := f.track(func(*message.Message) error { return nil })
	msgs := make([]*message.Message, 8)
	for i := range msgs {
		msgs[i] = message.NewMessage(uuid.NewString(), nil)
		msgs[i].Metadata.Set(broker.MetaRoutingKey, "product.updated")
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = handle(msgs[i%len(msgs)])
		i++
	}
}
