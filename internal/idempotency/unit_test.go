package idempotency_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/internal/idempotency"
)

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func unreachableStore(t *testing.T) *idempotency.Store {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: closedAddr(t), MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = rdb.Close() })
	return idempotency.New(rdb, "p:", time.Hour, time.Minute)
}

func TestBeginRejectsInvalidKeys(t *testing.T) {
	s := unreachableStore(t) // validation comes before any round trip
	tests := []struct {
		name, consumer, eventID string
	}{
		{"empty consumer", "", "e1"},
		{"empty event ID", "cache", ""},
		{"colon in consumer", "cache:x", "e1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, lease, err := s.Begin(context.Background(), tt.consumer, tt.eventID)
			if !errors.Is(err, idempotency.ErrInvalidKey) || st != idempotency.StateUnknown || lease != nil {
				t.Errorf("Begin = %s, %v, %v; want unknown, nil, ErrInvalidKey", st, lease, err)
			}
		})
	}
}

func TestRedisErrorsAreReturned(t *testing.T) {
	s := unreachableStore(t)
	ctx := context.Background()
	st, lease, err := s.Begin(ctx, "cache", "e1")
	if err == nil || st != idempotency.StateUnknown || lease != nil {
		t.Errorf("Begin with Redis down = %s, %v, %v; want unknown, nil, an error", st, lease, err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping with Redis down = nil, want an error")
	}
}

func TestNewPanicsOnTTLBelowAMillisecond(t *testing.T) {
	tests := []struct {
		name              string
		doneTTL, leaseTTL time.Duration
	}{
		{"zero done TTL", 0, time.Minute},
		{"negative lease TTL", time.Hour, -time.Second},
		{"sub-millisecond lease TTL", time.Hour, time.Microsecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("New did not panic")
				}
			}()
			idempotency.New(nil, "", tt.doneTTL, tt.leaseTTL)
		})
	}
}

func TestStateString(t *testing.T) {
	tests := []struct {
		state idempotency.State
		want  string
	}{
		{idempotency.StateUnknown, "unknown"},
		{idempotency.StateAcquired, "acquired"},
		{idempotency.StateDone, "done"},
		{idempotency.StateHeld, "held"},
		{idempotency.State(42), "unknown"},
	}
	for _, tt := range tests {
		if got := tt.state.String(); got != tt.want {
			t.Errorf("State(%d).String() = %q, want %q", int(tt.state), got, tt.want)
		}
	}
}
