package debugserver

import (
	"time"

	"github.com/eventworker/eventworker/internal/worker"
)

// Document is what GET /debug/state answers, and what `eventworker inspect` reads.
type Document struct {
	Version   string `json:"version"`
	Revision  string `json:"revision"`
	GoVersion string `json:"go_version"`
	Host      string `json:"host"`
	PID       int    `json:"pid"`
	// Now is when the document was made: the times below are relative to it.
	Now           time.Time `json:"now"`
	StartedAt     time.Time `json:"started_at"`
	UptimeSeconds float64   `json:"uptime_seconds"`
	Goroutines    int       `json:"goroutines"`
	// Running is true while the worker consumes; ShuttingDown once its shutdown began.
	Running      bool       `json:"running"`
	ShuttingDown bool       `json:"shutting_down"`
	Consumers    []Consumer `json:"consumers"`
	// Leases are the processing leases this worker holds, oldest first.
	Leases []Lease `json:"leases"`
	// Config is the effective configuration, variable to value, passwords redacted.
	Config map[string]string `json:"config"`
}

// Consumer is one consumer of the worker.
type Consumer struct {
	Name        string   `json:"name"`
	Queue       string   `json:"queue"`
	EventTypes  []string `json:"event_types"`
	Concurrency int      `json:"concurrency"`
	// InFlight counts the messages being handled; Events lists the oldest of them (at most
	// worker.StateEventsMax).
	InFlight int     `json:"in_flight"`
	Events   []Event `json:"in_flight_events"`
	Circuit  Circuit `json:"circuit"`
}

// Event is a message being handled, named by what its body claims.
type Event struct {
	EventID    string    `json:"event_id"`
	EventType  string    `json:"event_type"`
	TenantID   string    `json:"tenant_id"`
	Attempt    int       `json:"attempt"`
	StartedAt  time.Time `json:"started_at"`
	AgeSeconds float64   `json:"age_seconds"`
}

// Lease is a processing lease the worker holds while a handler runs.
type Lease struct {
	Consumer   string    `json:"consumer"`
	EventID    string    `json:"event_id"`
	Since      time.Time `json:"since"`
	RenewedAt  time.Time `json:"renewed_at"`
	TTLSeconds float64   `json:"ttl_seconds"`
}

// Circuit is the state of a consumer's breaker: closed, open (paused), half-open (one message
// tried) or off (EVENTWORKER_PAUSE_AFTER=0).
type Circuit struct {
	State string `json:"state"`
	// Since is when it last opened or closed; absent if it never did.
	Since *time.Time `json:"since,omitempty"`
	// LastCause is the last "service unavailable" error of the consumer's handlers.
	LastCause         string `json:"last_cause,omitempty"`
	UnavailableInARow int    `json:"unavailable_in_a_row"`
	// NextProbe is when an open circuit lets one message through.
	NextProbe *time.Time `json:"next_probe,omitempty"`
}

// consumersOf maps the worker's state onto the document's consumers.
func consumersOf(s worker.State) []Consumer {
	out := make([]Consumer, 0, len(s.Consumers))
	for _, c := range s.Consumers {
		events := make([]Event, 0, len(c.Events))
		for _, e := range c.Events {
			events = append(events, Event{
				EventID: e.EventID, EventType: e.EventType, TenantID: e.TenantID, Attempt: e.Attempt,
				StartedAt: e.StartedAt.UTC(), AgeSeconds: seconds(e.Age),
			})
		}
		out = append(out, Consumer{
			Name: c.Name, Queue: c.Queue, EventTypes: c.EventTypes, Concurrency: c.Concurrency,
			InFlight: c.InFlight, Events: events,
			Circuit: Circuit{
				State: c.Circuit.State, Since: timeOrNil(c.Circuit.Since), LastCause: c.Circuit.Cause,
				UnavailableInARow: c.Circuit.UnavailableInARow, NextProbe: timeOrNil(c.Circuit.NextProbe),
			},
		})
	}
	return out
}

// leasesOf maps the worker's leases onto the document's.
func leasesOf(s worker.State) []Lease {
	out := make([]Lease, 0, len(s.Leases))
	for _, l := range s.Leases {
		out = append(out, Lease{Consumer: l.Consumer, EventID: l.EventID, Since: l.Since.UTC(), RenewedAt: l.Renewed.UTC(), TTLSeconds: seconds(l.TTL)})
	}
	return out
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// seconds rounds d to milliseconds, in seconds.
func seconds(d time.Duration) float64 { return d.Round(time.Millisecond).Seconds() }
