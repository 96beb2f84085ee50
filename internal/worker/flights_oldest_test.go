package worker

import (
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// TestFlightsReportTheOldestDelivery: eventworker_oldest_in_flight_seconds is the age of the
// oldest message the consumer holds, and 0 once it holds none.
func TestFlightsReportTheOldestDelivery(t *testing.T) {
	h := newFlights()
	var mu sync.Mutex
	now := time.Unix(1000, 0)
	h.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	release := map[string]chan struct{}{"a": make(chan struct{}), "b": make(chan struct{})}
	started := make(chan string)
	handle := h.track(func(msg *message.Message) error {
		started <- msg.UUID
		<-release[msg.UUID]
		return nil
	})
	var wg sync.WaitGroup
	run := func(id string) {
		wg.Go(func() { _ = handle(message.NewMessage(id, nil)) })
		<-started
	}

	if got := h.oldest(); got != 0 {
		t.Fatalf("oldest with nothing held = %s, want 0", got)
	}
	run("a")
	advance(3 * time.Second)
	run("b")
	advance(2 * time.Second)
	if got := h.oldest(); got != 5*time.Second {
		t.Errorf("oldest with a (5s) and b (2s) held = %s, want 5s", got)
	}
	close(release["a"])
	waitFor(t, func() bool { return h.oldest() == 2*time.Second })
	close(release["b"])
	wg.Wait()
	if got := h.oldest(); got != 0 {
		t.Errorf("oldest once every delivery returned = %s, want 0", got)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
