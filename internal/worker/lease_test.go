package worker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/internal/idempotency"
	"github.com/eventworker/eventworker/registry"
)

// fakeLease answers renewals as told and counts them.
type fakeLease struct {
	ttl   time.Duration
	mu    sync.Mutex
	calls int
	reply func(call int) (bool, error)
}

func (f *fakeLease) Renew(context.Context) (bool, error) {
	f.mu.Lock()
	f.calls++
	n := f.calls
	f.mu.Unlock()
	return f.reply(n)
}

func (f *fakeLease) TTL() time.Duration { return f.ttl }

func (f *fakeLease) renewals() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func TestKeepLease(t *testing.T) {
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	const ttl = 300 * time.Millisecond
	for _, tc := range []struct {
		name        string
		reply       func(int) (bool, error)
		wait        time.Duration
		wantCancel  bool
		minRenewals int
	}{
		{"renewed while the handler runs", func(int) (bool, error) { return true, nil }, 3 * ttl, false, 5},
		{"taken elsewhere: stop at once", func(int) (bool, error) { return false, nil }, ttl, true, 1},
		{"one failed renewal is retried", func(n int) (bool, error) {
			if n == 1 {
				return false, errors.New("redis: i/o timeout")
			}
			return true, nil
		}, 3 * ttl, false, 3},
		{"renewals failing: stop before it expires", func(int) (bool, error) { return false, errors.New("connection refused") }, 2 * ttl, true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lease := &fakeLease{ttl: ttl, reply: tc.reply}
			start := time.Now()
			hctx, stop := keepLease(context.Background(), lease, func() *slog.Logger { return quiet })
			select {
			case <-hctx.Done():
				if !tc.wantCancel {
					t.Fatalf("handler stopped after %s: %v", time.Since(start), context.Cause(hctx))
				}
				if !errors.Is(context.Cause(hctx), errLeaseLost) {
					t.Errorf("cause %v, want errLeaseLost", context.Cause(hctx))
				}
				if d := time.Since(start); d >= ttl {
					t.Errorf("stopped after %s, not before the lease's TTL of %s ran out", d, ttl)
				}
			case <-time.After(tc.wait):
				if tc.wantCancel {
					t.Fatal("handler not stopped")
				}
			}
			stop()
			if n := lease.renewals(); n < tc.minRenewals {
				t.Errorf("%d renewals, want at least %d", n, tc.minRenewals)
			}
			after := lease.renewals()
			time.Sleep(ttl)
			if lease.renewals() != after {
				t.Error("renewals went on after stop")
			}
		})
	}
}

// TestLeaseOutlivesItsTTLWhileTheHandlerRuns: a handler that runs three times the lease TTL
// keeps its lease (it is renewed), so a concurrent Begin of the event finds it held; once the
// handler is done the event is done, handled once.
func TestLeaseOutlivesItsTTLWhileTheHandlerRuns(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.LeaseTTL = config.MinLeaseTTL })
	release := make(chan struct{})
	e.rec.fail = func(consumer string, _ *registry.Event, _ int) error {
		if consumer == "notifications" {
			<-release
		}
		return nil
	}
	e.rec.started = make(chan string, 16)
	e.start()
	id := uuid.NewString()
	e.publish("user.registered", e.example("user.registered", id), nil)
	waitStarted(t, e.rec.started, "notifications")
	store := idempotency.New(e.rdb, e.cfg.CachePrefix, e.cfg.IdempotencyTTL, e.cfg.LeaseTTL)
	time.Sleep(3 * e.cfg.LeaseTTL)
	if state, _, err := store.Begin(context.Background(), "notifications", id); err != nil || state != idempotency.StateHeld {
		t.Fatalf("Begin after three lease TTLs of handling = %s, %v; want held (the lease is renewed)", state, err)
	}
	close(release)
	e.waitFor("the event to be done", 10*time.Second, func() bool {
		state, _, _ := store.Begin(context.Background(), "notifications", id)
		return state == idempotency.StateDone
	})
	if n := e.rec.count("notifications", id); n != 1 {
		t.Errorf("handled %d times, want 1", n)
	}
}

// waitStarted waits until a call of consumer starts.
func waitStarted(t *testing.T, started <-chan string, consumer string) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case c := <-started:
			if c == consumer {
				return
			}
		case <-deadline:
			t.Fatalf("%s was not called", consumer)
		}
	}
}
