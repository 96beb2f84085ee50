package idempotency_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/internal/idempotency"
	"github.com/eventworker/eventworker/internal/testenv"
)

const (
	consumer = "notifications"
	doneTTL  = time.Hour
	leaseTTL = time.Minute
)

// begin calls Begin and checks that a lease comes with StateAcquired and only with it.
func begin(t *testing.T, s *idempotency.Store, eventID string) (idempotency.State, *idempotency.Lease) {
	t.Helper()
	state, lease, err := s.Begin(context.Background(), consumer, eventID)
	if err != nil {
		t.Fatalf("Begin(%s): %v", eventID, err)
	}
	if (state == idempotency.StateAcquired) != (lease != nil) {
		t.Fatalf("Begin(%s) = %s with lease %v: a lease comes with StateAcquired only", eventID, state, lease)
	}
	l, _ := lease.(*idempotency.Lease)
	return state, l
}

// mustAcquire begins on s and fails the test unless it acquired.
func mustAcquire(t *testing.T, s *idempotency.Store, eventID string) *idempotency.Lease {
	t.Helper()
	state, lease := begin(t, s, eventID)
	if state != idempotency.StateAcquired {
		t.Fatalf("Begin(%s) = %s, want acquired", eventID, state)
	}
	return lease
}

// TestAnotherReplicaSees checks what a second replica's Begin finds after the first replica
// acquired the event and did the step of the case.
func TestAnotherReplicaSees(t *testing.T) {
	rdb, prefix := newRedis(t)
	// The second replica has its own connection, as it would on another host.
	rdb2, _ := newRedis(t)
	ctx := context.Background()
	tests := []struct {
		name string
		step func(*idempotency.Lease) error
		want idempotency.State
	}{
		{"nothing: the lease is live", func(*idempotency.Lease) error { return nil }, idempotency.StateHeld},
		{"complete", func(l *idempotency.Lease) error { return l.Complete(ctx) }, idempotency.StateDone},
		{"release", func(l *idempotency.Lease) error { return l.Release(ctx) }, idempotency.StateAcquired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := idempotency.New(rdb, prefix, doneTTL, leaseTTL)
			b := idempotency.New(rdb2, prefix, doneTTL, leaseTTL)
			id := testenv.Name("evt")
			lease := mustAcquire(t, a, id)
			if err := tt.step(lease); err != nil {
				t.Fatalf("step: %v", err)
			}
			if got, _ := begin(t, b, id); got != tt.want {
				t.Errorf("other replica's Begin = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestRecordKeyAndTTLs(t *testing.T) {
	rdb, prefix := newRedis(t)
	ctx := context.Background()
	s := idempotency.New(rdb, prefix, doneTTL, leaseTTL)
	id := testenv.Name("evt")
	key := prefix + "eventworker:idem:" + consumer + ":" + id

	lease := mustAcquire(t, s, id)
	checkRecord(t, rdb, key, leaseTTL, func(v string) bool { return len(v) == 32 && v != "done" })
	if err := lease.Complete(ctx); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	checkRecord(t, rdb, key, doneTTL, func(v string) bool { return v == "done" })

	// The record is the worker's own state: never under the tenants' cache namespace.
	if strings.Contains(key[len(prefix):], "tenant:") {
		t.Errorf("record key %q is under tenant:", key)
	}
}

// checkRecord asserts that key exists, its value passes ok and its TTL is in (0, max].
func checkRecord(t *testing.T, rdb *redis.Client, key string, max time.Duration, ok func(string) bool) {
	t.Helper()
	ctx := context.Background()
	v, err := rdb.Get(ctx, key).Result()
	if err != nil {
		t.Fatalf("GET %s: %v", key, err)
	}
	if !ok(v) {
		t.Errorf("GET %s = %q: unexpected value", key, v)
	}
	ttl, err := rdb.PTTL(ctx, key).Result()
	if err != nil {
		t.Fatalf("PTTL %s: %v", key, err)
	}
	if ttl <= 0 || ttl > max {
		t.Errorf("PTTL %s = %s, want in (0, %s]", key, ttl, max)
	}
}

func TestLeaseExpiryLetsAnotherAcquire(t *testing.T) {
	rdb, prefix := newRedis(t)
	a := idempotency.New(rdb, prefix, doneTTL, 200*time.Millisecond)
	b := idempotency.New(rdb, prefix, doneTTL, leaseTTL)
	id := testenv.Name("evt")
	mustAcquire(t, a, id) // a "crashes": never completes nor releases

	var got idempotency.State
	waitUntil(t, 5*time.Second, "the expired lease lets another replica acquire", func() bool {
		got, _ = begin(t, b, id)
		return got == idempotency.StateAcquired
	})
}

// TestLostLease covers a replica whose lease expired while its handler ran and was taken by
// another replica.
func TestLostLease(t *testing.T) {
	rdb, prefix := newRedis(t)
	ctx := context.Background()
	tests := []struct {
		name  string
		stale func(*idempotency.Lease) error // what the replica with the expired lease does
		fresh func(*idempotency.Lease) error // then the replica that took over
		want  idempotency.State
	}{
		{
			name:  "release by the non-owner deletes nothing",
			stale: func(l *idempotency.Lease) error { return l.Release(ctx) },
			fresh: func(*idempotency.Lease) error { return nil },
			want:  idempotency.StateHeld,
		},
		{
			name:  "complete by the non-owner records done",
			stale: func(l *idempotency.Lease) error { return l.Complete(ctx) },
			fresh: func(*idempotency.Lease) error { return nil },
			want:  idempotency.StateDone,
		},
		{
			name:  "owner's release after the other's complete keeps done",
			stale: func(l *idempotency.Lease) error { return l.Complete(ctx) },
			fresh: func(l *idempotency.Lease) error { return l.Release(ctx) },
			want:  idempotency.StateDone,
		},
		{
			name:  "owner's complete after the other's complete keeps done",
			stale: func(l *idempotency.Lease) error { return l.Complete(ctx) },
			fresh: func(l *idempotency.Lease) error { return l.Complete(ctx) },
			want:  idempotency.StateDone,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := idempotency.New(rdb, prefix, doneTTL, 200*time.Millisecond)
			b := idempotency.New(rdb, prefix, doneTTL, leaseTTL)
			id := testenv.Name("evt")
			stale := mustAcquire(t, a, id)
			var fresh *idempotency.Lease
			waitUntil(t, 5*time.Second, "the expired lease lets another replica acquire", func() bool {
				_, fresh = begin(t, b, id)
				return fresh != nil
			})
			if err := tt.stale(stale); err != nil {
				t.Fatalf("stale lease's step: %v", err)
			}
			if err := tt.fresh(fresh); err != nil {
				t.Fatalf("fresh lease's step: %v", err)
			}
			c := idempotency.New(rdb, prefix, doneTTL, leaseTTL)
			if got, _ := begin(t, c, id); got != tt.want {
				t.Errorf("third replica's Begin = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestConcurrentBeginAcquiresOnce(t *testing.T) {
	rdb, prefix := newRedis(t)
	id := testenv.Name("evt")
	const n = 20
	states := make([]idempotency.State, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			// One Store per goroutine: as many replicas as goroutines.
			s := idempotency.New(rdb, prefix, doneTTL, leaseTTL)
			<-start
			states[i], _, errs[i] = s.Begin(context.Background(), consumer, id)
		})
	}
	close(start)
	wg.Wait()
	count := map[idempotency.State]int{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Begin %d: %v", i, errs[i])
		}
		count[states[i]]++
	}
	if count[idempotency.StateAcquired] != 1 || count[idempotency.StateHeld] != n-1 {
		t.Errorf("states = %v, want exactly 1 acquired and %d held", count, n-1)
	}
}

func complete(l *idempotency.Lease) error { return l.Complete(context.Background()) }
func release(l *idempotency.Lease) error  { return l.Release(context.Background()) }

func TestFinishedLease(t *testing.T) {
	rdb, prefix := newRedis(t)
	tests := []struct {
		name          string
		first, second func(*idempotency.Lease) error
	}{
		{"complete twice", complete, complete},
		{"release after complete", complete, release},
		{"complete after release", release, complete},
		{"release twice", release, release},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := idempotency.New(rdb, prefix, doneTTL, leaseTTL)
			lease := mustAcquire(t, s, testenv.Name("evt"))
			if err := tt.first(lease); err != nil {
				t.Fatalf("first call: %v", err)
			}
			if err := tt.second(lease); !errors.Is(err, idempotency.ErrLeaseFinished) {
				t.Errorf("second call = %v, want ErrLeaseFinished", err)
			}
		})
	}
}
