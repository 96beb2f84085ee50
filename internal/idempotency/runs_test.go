package idempotency_test

import (
	"context"
	"errors"
	"testing"

	"github.com/eventworker/eventworker/internal/idempotency"
)

// TestRunsCountOnlyRunsThatNeverEnded: starts that finish take their count back; starts whose
// process died under them stay counted, until Forget.
func TestRunsCountOnlyRunsThatNeverEnded(t *testing.T) {
	rdb, prefix := newRedis(t)
	runs := idempotency.NewRuns(rdb, prefix)
	ctx := context.Background()
	steps := []struct {
		name          string
		do            func() (int, error)
		wantReturned  int
		wantAfterward int
	}{
		{"a first run starts", func() (int, error) { return runs.Start(ctx, consumer, "e1") }, 1, 1},
		{"and ends", func() (int, error) { return 0, runs.Finish(ctx, consumer, "e1") }, 0, 0},
		{"a second run starts", func() (int, error) { return runs.Start(ctx, consumer, "e1") }, 1, 1},
		{"and its process dies; a third starts", func() (int, error) { return runs.Start(ctx, consumer, "e1") }, 2, 2},
		{"and dies; a fourth starts", func() (int, error) { return runs.Start(ctx, consumer, "e1") }, 3, 3},
		{"and ends", func() (int, error) { return 0, runs.Finish(ctx, consumer, "e1") }, 0, 2},
		{"forgotten", func() (int, error) { return 0, runs.Forget(ctx, consumer, "e1") }, 0, 0},
		{"an end without a start never counts below zero", func() (int, error) { return 0, runs.Finish(ctx, consumer, "e1") }, 0, 0},
		{"so the next start counts one", func() (int, error) { return runs.Start(ctx, consumer, "e1") }, 1, 1},
	}
	for _, s := range steps {
		got, err := s.do()
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got != s.wantReturned {
			t.Errorf("%s: returned %d, want %d", s.name, got, s.wantReturned)
		}
		after, err := runs.Unfinished(ctx, consumer, "e1")
		if err != nil {
			t.Fatalf("%s: Unfinished: %v", s.name, err)
		}
		if after != s.wantAfterward {
			t.Errorf("%s: %d unfinished afterwards, want %d", s.name, after, s.wantAfterward)
		}
	}
	if n, _ := runs.Unfinished(ctx, "other", "e1"); n != 0 {
		t.Errorf("another consumer's count = %d, want 0: counts are per consumer", n)
	}
	if _, err := runs.Start(ctx, "a:b", "e1"); !errors.Is(err, idempotency.ErrInvalidKey) {
		t.Errorf("Start with a ':' in the consumer = %v, want ErrInvalidKey", err)
	}
	if ttl := rdb.PTTL(ctx, prefix+"eventworker:runs:"+consumer+":e1").Val(); ttl <= 0 {
		t.Errorf("the count's TTL = %s, want one", ttl)
	}
}
