package worker

import (
	"encoding/json"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/eventworker/eventworker/internal/broker"
)

// flights are the messages of one consumer that its pipeline is handling, for State. The
// pipeline pays one map insert and one delete per message under a mutex of the consumer's own,
// and nothing is decoded: the event's fields are read from its body only when State is asked.
type flights struct {
	mu sync.Mutex
	m  map[*message.Message]flight
	// now is time.Now, but in tests.
	now func() time.Time
}

// flight is what is kept of one message while it is handled: a value in the map, so that a map
// that reached the consumer's concurrency allocates nothing more.
type flight struct {
	start    time.Time
	rk       string // routing key
	attempts string // failed attempts before this one, as the broker's metadata has it
}

func newFlights() *flights { return &flights{m: map[*message.Message]flight{}, now: time.Now} }

// track returns handle, with each message counted in flight while handle runs.
func (f *flights) track(handle message.NoPublishHandlerFunc) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		// The metadata is read here, on the message's goroutine; State reads only the body.
		fl := flight{start: f.now(), rk: msg.Metadata.Get(broker.MetaRoutingKey), attempts: msg.Metadata.Get(broker.MetaAttempts)}
		f.mu.Lock()
		f.m[msg] = fl
		f.mu.Unlock()
		defer func() {
			f.mu.Lock()
			delete(f.m, msg)
			f.mu.Unlock()
		}()
		return handle(msg)
	}
}

// oldest returns how long the oldest message in flight has been, 0 when there is none: what
// eventworker_oldest_in_flight_seconds reports at each scrape.
func (f *flights) oldest() time.Duration {
	f.mu.Lock()
	var first time.Time
	for _, fl := range f.m {
		if first.IsZero() || fl.start.Before(first) {
			first = fl.start
		}
	}
	f.mu.Unlock()
	if first.IsZero() {
		return 0
	}
	return f.now().Sub(first)
}

// snapshot returns how many messages are in flight and, oldest first, at most limit of them.
func (f *flights) snapshot(limit int, now time.Time) (n int, events []InFlightEvent) {
	type entry struct {
		msg *message.Message
		flight
	}
	f.mu.Lock()
	entries := make([]entry, 0, len(f.m))
	for msg, fl := range f.m {
		entries = append(entries, entry{msg, fl})
	}
	f.mu.Unlock()
	slices.SortFunc(entries, func(a, b entry) int { return a.start.Compare(b.start) })
	n = len(entries)
	entries = entries[:min(n, limit)]
	events = make([]InFlightEvent, 0, len(entries))
	for _, e := range entries {
		events = append(events, inFlightEvent(e.msg, e.flight, now))
	}
	return n, events
}

// inFlightEvent describes a message being handled: the IDs its body claims (a body that is no
// event shows the message ID and routing key), its attempt and how long it has run.
func inFlightEvent(msg *message.Message, fl flight, now time.Time) InFlightEvent {
	var claims struct {
		ID     string `json:"event_id"`
		Type   string `json:"event_type"`
		Tenant string `json:"tenant_id"`
	}
	// Never written once delivered: the body may be read beside the pipeline.
	_ = json.Unmarshal(msg.Payload, &claims)
	if claims.ID == "" {
		claims.ID = msg.UUID
	}
	if claims.Type == "" {
		claims.Type = fl.rk
	}
	attempts, _ := strconv.Atoi(fl.attempts)
	return InFlightEvent{
		EventID: claims.ID, EventType: claims.Type, TenantID: claims.Tenant,
		Attempt: attempts + 1, StartedAt: fl.start, Age: now.Sub(fl.start),
	}
}
