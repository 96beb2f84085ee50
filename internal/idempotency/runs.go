package idempotency

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// runsKeyspace holds the counts of handler runs that began and have not ended.
const runsKeyspace = "eventworker:runs:"

// runsTTL is how long a count outlives its last change: far longer than any redelivery takes.
const runsTTL = 24 * time.Hour

// startScript: KEYS[1] count; ARGV[1] TTL in ms. One round trip for the increment and its TTL.
var startScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return n
`)

// finishScript: KEYS[1] count. The count never goes below zero, and a zero leaves no key.
var finishScript = redis.NewScript(`
local n = redis.call('DECR', KEYS[1])
if n <= 0 then
	redis.call('DEL', KEYS[1])
	return 0
end
return n
`)

// Runs counts, for one consumer and event, the runs of its handler that began and did not end:
// a run that ends (in success, failure or panic) takes back its count, so what remains are the
// runs whose process died under them (killed, out of memory, a fatal runtime error). It is the
// worker's poison guard: unlike a quorum queue's delivery count, it does not count the messages
// a dying or stopping process had only prefetched.
//
// The counts live at P + "eventworker:runs:" + consumer + ":" + event_id and expire a day after
// their last change.
type Runs struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewRuns returns the run counts of prefix on rdb.
func NewRuns(rdb redis.UniversalClient, prefix string) *Runs {
	return &Runs{rdb: rdb, prefix: prefix}
}

// Start counts a run that is about to begin and returns how many runs of the event have begun
// without ending, this one included: 1 unless earlier runs died with their process.
func (r *Runs) Start(ctx context.Context, consumer, eventID string) (int, error) {
	key, err := r.key(consumer, eventID)
	if err != nil {
		return 0, err
	}
	n, err := startScript.Run(ctx, r.rdb, []string{key}, runsTTL.Milliseconds()).Int()
	if err != nil {
		return 0, fmt.Errorf("count the start of %s: %w", key, err)
	}
	return n, nil
}

// Finish takes back the count of a run that ended, whatever its outcome.
func (r *Runs) Finish(ctx context.Context, consumer, eventID string) error {
	key, err := r.key(consumer, eventID)
	if err != nil {
		return err
	}
	if err := finishScript.Run(ctx, r.rdb, []string{key}).Err(); err != nil {
		return fmt.Errorf("count the end of %s: %w", key, err)
	}
	return nil
}

// Unfinished returns how many runs of the event began and never ended.
func (r *Runs) Unfinished(ctx context.Context, consumer, eventID string) (int, error) {
	key, err := r.key(consumer, eventID)
	if err != nil {
		return 0, err
	}
	n, err := r.rdb.Get(ctx, key).Int()
	if err == redis.Nil {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", key, err)
	}
	return n, nil
}

// Forget deletes the event's count: it was dead-lettered, and a replay starts afresh.
func (r *Runs) Forget(ctx context.Context, consumer, eventID string) error {
	key, err := r.key(consumer, eventID)
	if err != nil {
		return err
	}
	if err := r.rdb.Del(ctx, key).Err(); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

func (r *Runs) key(consumer, eventID string) (string, error) {
	if consumer == "" || eventID == "" || strings.Contains(consumer, ":") {
		return "", fmt.Errorf("consumer %q, event ID %q: %w", consumer, eventID, ErrInvalidKey)
	}
	return r.prefix + runsKeyspace + consumer + ":" + eventID, nil
}
