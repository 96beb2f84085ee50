package worker

import (
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// heldSince remembers since when the consumer's pipeline holds each delivery it was handed,
// so that the age of the oldest one can be exported: a handler that hangs, or a consumer paused
// on a service that is down, shows as an age that keeps growing, which the lag histogram (it
// only sees events that finish) cannot show.
type heldSince struct {
	mu    sync.Mutex
	next  uint64
	since map[uint64]time.Time
	now   func() time.Time
}

func newHeldSince() *heldSince {
	return &heldSince{since: map[uint64]time.Time{}, now: time.Now}
}

// wrap returns handle, recording each message from its call to its return.
func (h *heldSince) wrap(handle message.NoPublishHandlerFunc) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		h.mu.Lock()
		id := h.next
		h.next++
		h.since[id] = h.now()
		h.mu.Unlock()
		defer func() {
			h.mu.Lock()
			delete(h.since, id)
			h.mu.Unlock()
		}()
		return handle(msg)
	}
}

// oldest returns the age of the oldest delivery held, 0 when none.
func (h *heldSince) oldest() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	var first time.Time
	for _, t := range h.since {
		if first.IsZero() || t.Before(first) {
			first = t
		}
	}
	if first.IsZero() {
		return 0
	}
	return h.now().Sub(first)
}
