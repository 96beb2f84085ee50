package idempotency_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/eventworker/eventworker/internal/idempotency"
)

// BenchmarkBeginComplete measures the two round trips every handled event costs, against the
// test Redis: go test ./internal/idempotency -run '^$' -bench . -benchmem
func BenchmarkBeginComplete(b *testing.B) {
	rdb, prefix := newRedis(b)
	s := idempotency.New(rdb, prefix, doneTTL, leaseTTL)
	ctx := context.Background()
	b.ReportAllocs()
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

// BenchmarkBeginCompleteParallel is BenchmarkBeginComplete from several goroutines at once (4
// per GOMAXPROCS), as several handlers of a consumer share one Redis client.
func BenchmarkBeginCompleteParallel(b *testing.B) {
	rdb, prefix := newRedis(b)
	s := idempotency.New(rdb, prefix, doneTTL, leaseTTL)
	ctx := context.Background()
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := strconv.FormatInt(n.Add(1), 10)
			_, lease, err := s.Begin(ctx, consumer, id)
			if err != nil || lease == nil {
				b.Errorf("Begin %s: lease %v, %v", id, lease, err)
				return
			}
			if err := lease.Complete(ctx); err != nil {
				b.Errorf("Complete %s: %v", id, err)
				return
			}
		}
	})
}

// BenchmarkBeginDuplicate measures the check of a redelivered event that is already done: one
// round trip that finds the done marker.
func BenchmarkBeginDuplicate(b *testing.B) {
	rdb, prefix := newRedis(b)
	s := idempotency.New(rdb, prefix, doneTTL, leaseTTL)
	ctx := context.Background()
	_, lease, err := s.Begin(ctx, consumer, "dup")
	if err != nil || lease == nil {
		b.Fatalf("Begin: lease %v, %v", lease, err)
	}
	if err := lease.Complete(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		state, _, err := s.Begin(ctx, consumer, "dup")
		if err != nil || state != idempotency.StateDone {
			b.Fatalf("Begin: %v, %v", state, err)
		}
	}
}
