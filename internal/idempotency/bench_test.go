package idempotency_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/eventworker/eventworker/internal/idempotency"
)

// BenchmarkBeginComplete measures the two round trips every handled event costs, against the
// test Redis.
func BenchmarkBeginComplete(b *testing.B) {
	rdb, prefix := newRedis(b)
	s := idempotency.New(rdb, prefix, doneTTL, leaseTTL)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		_, lease, err := s.Begin(ctx, consumer, strconv.Itoa(i))
		if err != nil || lease == nil {
			b.Fatalf("Begin %d: lease %v, %v", i, lease, err)
		}
		if err := lease.Complete(ctx); err != nil {
			b.Fatalf("Complete %d: %v", i, err)
		}
	}
}
