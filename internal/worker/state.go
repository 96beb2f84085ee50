package worker

import (
	"cmp"
	"slices"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// StateEventsMax bounds the in-flight events State lists per consumer (the oldest); the count
// is always complete.
const StateEventsMax = 50

// Circuit states: a consumer's breaker (EVENTWORKER_PAUSE_AFTER) closed, open (paused: its
// messages wait), half-open (paused, one message being tried as the probe), or off.
const (
	CircuitClosed   = "closed"
	CircuitOpen     = "open"
	CircuitHalfOpen = "half-open"
	CircuitOff      = "off"
)

// State is a snapshot of what the worker is doing: its consumers with the events they are
// handling and their circuits, and the processing leases it holds.
type State struct {
	// Running is true while the worker consumes (Run started and has not shut down);
	// ShuttingDown once its shutdown began: it takes no new messages and finishes the others.
	Running, ShuttingDown bool
	Consumers             []ConsumerState
	// Leases are the processing leases this worker holds, oldest first.
	Leases []LeaseState
}

// ConsumerState is one consumer's part of State.
type ConsumerState struct {
	Name        string
	Queue       string
	EventTypes  []string
	Concurrency int
	// InFlight counts the messages being handled; Events lists the oldest StateEventsMax.
	InFlight int
	Events   []InFlightEvent
	Circuit  Circuit
}

// InFlightEvent is a message being handled, named by what its body claims.
type InFlightEvent struct {
	EventID, EventType, TenantID string
	// Attempt is 1 for a first delivery, then counts the attempts spent.
	Attempt   int
	StartedAt time.Time
	Age       time.Duration
}

// LeaseState is a processing lease this worker holds while its handler runs.
type LeaseState struct {
	Consumer, EventID string
	Since, Renewed    time.Time
	TTL               time.Duration
}

// Circuit is the state of a consumer's breaker, which pauses it while a service its handlers
// need is down.
type Circuit struct {
	State string
	// Since is when it last opened or closed; zero if it never did.
	Since time.Time
	// Cause is the last "unavailable" error; UnavailableInARow counts them since the last
	// outcome that was not.
	Cause             string
	UnavailableInARow int
	// NextProbe is when an open circuit lets one message through.
	NextProbe time.Time
}

// observer holds what State reports: per consumer its messages in flight and its breaker (set
// when Run builds it), and the worker's leases.
type observer struct {
	consumers map[string]*observed // one per handler, built by New; never changed after
	leases    *leaseTracker
}

type observed struct {
	flights *flights
	breaker atomic.Pointer[breaker]
}

func newObserver(w *Worker) *observer {
	o := &observer{consumers: map[string]*observed{}}
	for _, h := range w.d.Handlers {
		o.consumers[h.Consumer()] = &observed{flights: newFlights()}
	}
	return o
}

// attach lets State see the pipeline's breaker and returns the pipeline's handler.
func (o *observer) attach(p *pipeline) message.NoPublishHandlerFunc {
	o.consumers[p.consumer].breaker.Store(p.breaker)
	return p.handle
}

// track returns handle, the consumer's handler as the router calls it, with its messages
// counted in flight from the moment the router hands them over: waiting for one of the
// consumer's goroutines, paused by its breaker, or being handled.
func (o *observer) track(consumer string, handle message.NoPublishHandlerFunc) message.NoPublishHandlerFunc {
	return o.consumers[consumer].flights.track(handle)
}

// State returns what the worker is doing now: safe to call at any time, from any goroutine,
// and cheap for the messages being handled meanwhile.
func (w *Worker) State() State {
	now := time.Now()
	router := w.running()
	s := State{Running: router != nil && router.IsRunning() && !router.IsClosed(), Leases: w.seen.leases.snapshot()}
	select {
	case <-w.gate.drain:
		s.ShuttingDown = s.Running
	default:
	}
	for _, h := range w.d.Handlers {
		name := h.Consumer()
		o := w.seen.consumers[name]
		cs := ConsumerState{
			Name: name, Queue: w.names(name).Work(), EventTypes: slices.Clone(w.topology.Bindings[name]),
			Concurrency: w.cfg.ConcurrencyOf(name), Circuit: o.breaker.Load().circuit(w.cfg.PauseAfter),
		}
		cs.InFlight, cs.Events = o.flights.snapshot(StateEventsMax, now)
		s.Consumers = append(s.Consumers, cs)
	}
	slices.SortFunc(s.Consumers, func(a, b ConsumerState) int { return cmp.Compare(a.Name, b.Name) })
	return s
}

// circuit describes the breaker; nil is a breaker not built yet (closed) or never pausing
// (pauseAfter 0: off).
func (b *breaker) circuit(pauseAfter int) Circuit {
	if b == nil {
		if pauseAfter <= 0 {
			return Circuit{State: CircuitOff}
		}
		return Circuit{State: CircuitClosed}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	c := Circuit{State: CircuitClosed, Since: b.since, Cause: b.lastErr, UnavailableInARow: b.fails}
	switch {
	case b.open && b.probing:
		c.State = CircuitHalfOpen
	case b.open:
		c.State, c.NextProbe = CircuitOpen, b.until
	}
	return c
}
