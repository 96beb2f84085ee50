package handling

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/eventworker/eventworker/registry"
)

// Handler turns validated events into effects for one consumer of the registry.
//
// Handle is called at least once per event; the worker skips events it has already seen done,
// but a crash between the effect and the record can repeat one, so effects should be idempotent.
// An error is transient (retried with backoff, then dead-lettered) unless marked Permanent
// (dead-lettered at once), Unavailable (retried until the service is back, never dead-lettered
// for it) or Later; an error wrapping ErrSuppressed acknowledges the event as deliberately not
// acted on, one wrapping ErrDuplicate as handled before.
type Handler interface {
	// Consumer is the consumer name in registry.yaml whose queue this handler drains.
	Consumer() string
	// EventTypes are the event types the handler handles. registry.yaml must map exactly these
	// to its consumer: the worker and `registry lint` refuse any other mapping.
	EventTypes() []string
	// Handle applies the event's effect. ctx carries the per-consumer timeout, and the event's
	// log attributes for the *Context methods of slog (see internal/logging).
	Handle(ctx context.Context, ev *registry.Event) error
}

// TypesOf lists the event types of payloads, for a handler's EventTypes: a handler that
// dispatches on payload types names them once.
func TypesOf(payloads ...registry.Payload) []string {
	types := make([]string, len(payloads))
	for i, p := range payloads {
		types[i] = p.EventType()
	}
	return types
}

// InEffectRecorder is implemented by a handler whose effects all live in Redis and record their
// event atomically with themselves: each effect's Lua script looks for the event's idempotency
// record, does nothing when it is there (the handler then returns ErrDuplicate), and writes it
// together with the effect. For such a handler the worker takes no processing lease and writes
// no done marker: one round trip per effect, and the effect happens exactly once per event.
// Handlers with effects outside Redis (an email) do not implement it, or return false, and the
// worker wraps each call in a renewed lease and a done marker.
type InEffectRecorder interface {
	RecordsInEffect() bool
}

// RecordsInEffect reports whether h records its events in its effects (see InEffectRecorder).
func RecordsInEffect(h Handler) bool {
	r, ok := h.(InEffectRecorder)
	return ok && r.RecordsInEffect()
}

// Func adapts a function to a Handler, for tests and small consumers.
type Func struct {
	Name string
	// Types are the event types it handles (EventTypes).
	Types []string
	Fn    func(ctx context.Context, ev *registry.Event) error
	// InEffect says that Fn records its events in its effects (see InEffectRecorder).
	InEffect bool
}

// Consumer implements Handler.
func (f Func) Consumer() string { return f.Name }

// EventTypes implements Handler.
func (f Func) EventTypes() []string { return slices.Clone(f.Types) }

// RecordsInEffect implements InEffectRecorder.
func (f Func) RecordsInEffect() bool { return f.InEffect }

// Handle implements Handler.
func (f Func) Handle(ctx context.Context, ev *registry.Event) error { return f.Fn(ctx, ev) }

// Check compares the handlers with the registry (see Mismatches) and names every mismatch at
// once, wrapped in ErrMismatch; nil when they agree. The worker runs it before it starts.
func Check(reg *registry.Registry, hs []Handler) error {
	problems := Mismatches(reg, hs)
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrMismatch, strings.Join(problems, "; "))
}

// Mismatches lists, sorted, where the handlers and the registry disagree: every consumer of the
// registry must have exactly one handler and every handler a consumer, and each handler must
// handle exactly the event types the registry maps to its consumer, (type, consumer) pair by
// pair. `eventworker registry lint` prints them for the built-in handlers.
func Mismatches(reg *registry.Registry, hs []Handler) []string {
	var problems []string
	byName := map[string]Handler{}
	for _, h := range hs {
		c := h.Consumer()
		if _, dup := byName[c]; dup {
			problems = append(problems, fmt.Sprintf("two handlers for consumer %q", c))
			continue
		}
		byName[c] = h
		if _, err := reg.ConsumerDescription(c); err != nil {
			problems = append(problems, fmt.Sprintf("handler %q has no consumer entry in registry.yaml", c))
			continue
		}
		declared := h.EventTypes()
		mapped := reg.EventsOf(c)
		for _, t := range mapped {
			if !slices.Contains(declared, t) {
				problems = append(problems, fmt.Sprintf("registry.yaml maps %s to consumer %s, whose handler does not handle it", t, c))
			}
		}
		for _, t := range declared {
			if slices.Contains(mapped, t) {
				continue
			}
			if _, err := reg.Type(t); err != nil {
				problems = append(problems, fmt.Sprintf("the handler of consumer %s handles %s, which registry.yaml does not define", c, t))
			} else {
				problems = append(problems, fmt.Sprintf("the handler of consumer %s handles %s, which registry.yaml does not map to it", c, t))
			}
		}
	}
	for _, c := range reg.Consumers() {
		if _, ok := byName[c]; !ok {
			problems = append(problems, fmt.Sprintf("registry.yaml names consumer %q, which has no handler", c))
		}
	}
	slices.Sort(problems)
	return problems
}
