package worker

import (
	"bytes"
	"hash/maphash"
	"sync"

	"github.com/eventworker/eventworker/registry"
)

// validCacheSlots is how many validated events the cache keeps: enough for the messages of every
// consumer's prefetch window in flight at once.
const validCacheSlots = 1024

// validCache remembers the events validated last, so that a message the broker delivers to
// several consumers' queues (product.updated to cache and inventory, order.confirmed to three)
// is parsed and validated once per process instead of once per consumer. It is keyed by the
// routing key and the whole body, compared byte for byte, so a hit is exactly what Validate
// would return; only valid events are kept. Handlers must not modify the event they are given:
// other consumers' handlers may hold the same one.
type validCache struct {
	seed  maphash.Seed
	mu    sync.Mutex
	slots [validCacheSlots]validEntry
}

type validEntry struct {
	hash uint64
	rk   string
	body []byte
	ev   *registry.Event
}

func newValidCache() *validCache { return &validCache{seed: maphash.MakeSeed()} }

// validate returns the event reg.Validate(rk, body) returns, from the cache when the same
// routing key and body were validated lately. A nil cache validates every time.
func (c *validCache) validate(reg *registry.Registry, rk string, body []byte) (*registry.Event, error) {
	if c == nil {
		return reg.Validate(rk, body)
	}
	var h maphash.Hash
	h.SetSeed(c.seed)
	_, _ = h.WriteString(rk)
	_, _ = h.Write(body)
	sum := h.Sum64()
	slot := &c.slots[sum%validCacheSlots]
	c.mu.Lock()
	if slot.ev != nil && slot.hash == sum && slot.rk == rk && bytes.Equal(slot.body, body) {
		ev := slot.ev
		c.mu.Unlock()
		return ev, nil
	}
	c.mu.Unlock()
	ev, err := reg.Validate(rk, body)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	*slot = validEntry{hash: sum, rk: rk, body: body, ev: ev}
	c.mu.Unlock()
	return ev, nil
}
