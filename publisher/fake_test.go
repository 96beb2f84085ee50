package publisher

import (
	"sync"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
)

// recorder is a Watermill publisher that keeps what it is given.
type recorder struct {
	mu     sync.Mutex
	topics []string
	msgs   []*message.Message
	err    error
	closed bool
}

func (r *recorder) Publish(topic string, msgs ...*message.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	for _, m := range msgs {
		r.topics = append(r.topics, topic)
		r.msgs = append(r.msgs, m)
	}
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
	return len(r.msgs)
}

// last returns the last message sent and its topic, failing the test when there is none.
func (r *recorder) last(t *testing.T) (string, *message.Message) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.msgs) == 0 {
		t.Fatal("the Watermill publisher received no message")
	}
	return r.topics[len(r.topics)-1], r.msgs[len(r.msgs)-1]
}

// newRecorded returns a Publisher over a recorder, closed at the end of the test.
func newRecorded(t *testing.T, cfg Config) (*Publisher, *recorder) {
	t.Helper()
	rec := &recorder{}
	p, err := NewWithPublisher(rec, cfg)
	if err != nil {
		t.Fatalf("NewWithPublisher: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p, rec
}
