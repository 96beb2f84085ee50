package publisher

import (
	"context"
	"sync"
	"testing"

	"github.com/eventworker/eventworker/registry"
)

// recorder is a Sender that keeps what it is given.
type recorder struct {
	mu     sync.Mutex
	events []*registry.Event
	bodies [][]byte
	err    error
	closed bool
}

func (r *recorder) Send(_ context.Context, ev *registry.Event, body []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.events = append(r.events, ev)
	r.bodies = append(r.bodies, body)
	return nil
}

func (r *recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	return nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// last returns the last event sent and its body, failing the test when there is none.
func (r *recorder) last(t *testing.T) (*registry.Event, []byte) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.events) == 0 {
		t.Fatal("the sender received no event")
	}
	return r.events[len(r.events)-1], r.bodies[len(r.bodies)-1]
}

// newRecorded returns a Publisher over a recorder, closed at the end of the test.
func newRecorded(t *testing.T, cfg Config) (*Publisher, *recorder) {
	t.Helper()
	rec := &recorder{}
	p, err := NewWithSender(rec, cfg)
	if err != nil {
		t.Fatalf("NewWithSender: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p, rec
}
