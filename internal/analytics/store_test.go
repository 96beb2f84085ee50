package analytics

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/internal/testenv"
)

func newStore(t *testing.T) (*Store, *redis.Client) {
	t.Helper()
	rdb, prefix := testenv.Redis(t, "test-analytics")
	return New(rdb, prefix), rdb
}

var day1 = time.Date(2026, 11, 26, 23, 59, 59, 0, time.UTC)

func TestCountOnce(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	incr := map[string]int64{OrdersConfirmed: 1, RevenuePrefix + "EUR": 1999}
	for i, want := range []bool{true, false, false} {
		got, err := s.Count(ctx, "shop", "e-1", day1, incr)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("delivery %d counted = %v, want %v", i+1, got, want)
		}
	}
	days, err := s.Days(ctx, "shop", day1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := days[0].Counters[OrdersConfirmed]; got != 1 {
		t.Errorf("orders_confirmed = %d, want 1", got)
	}
	if got := days[0].Revenue()["EUR"]; got != 1999 {
		t.Errorf("revenue EUR = %d, want 1999", got)
	}
}

func TestDaysAndTenants(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	berlin := time.FixedZone("CET", 3600)
	events := []struct {
		tenant, id string
		at         time.Time
		field      string
	}{
		{"shop", "e-1", day1, OrdersCreated},
		// 00:30 in Berlin is still the 26th in UTC: days are UTC days.
		{"shop", "e-2", time.Date(2026, 11, 27, 0, 30, 0, 0, berlin), OrdersCreated},
		{"shop", "e-3", day1.Add(time.Second), UsersRegistered},
		{"shop:eu", "e-4", day1, OrdersCreated},
		{"shop", "e-5", day1.AddDate(0, 0, -2), OrdersCancelled},
	}
	for _, e := range events {
		if _, err := s.Count(ctx, e.tenant, e.id, e.at, map[string]int64{e.field: 1}); err != nil {
			t.Fatal(err)
		}
	}
	// e-3 is a second past midnight: the 27th, outside the three days up to the 26th.
	days, err := s.Days(ctx, "shop", day1, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []map[string]int64{
		{OrdersCancelled: 1},
		{},
		{OrdersCreated: 2},
	}
	for i, d := range days {
		if d.Date != time.Date(2026, 11, 24+i, 0, 0, 0, 0, time.UTC) {
			t.Errorf("day %d is %s", i, d.Date)
		}
		if len(d.Counters) != len(want[i]) {
			t.Errorf("%s: counters %v, want %v", d.Date.Format(time.DateOnly), d.Counters, want[i])
		}
		for k, v := range want[i] {
			if d.Counters[k] != v {
				t.Errorf("%s: %s = %d, want %d", d.Date.Format(time.DateOnly), k, d.Counters[k], v)
			}
		}
	}
	other, err := s.Days(ctx, "shop:eu", day1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if other[0].Counters[OrdersCreated] != 1 {
		t.Errorf("tenant shop:eu: %v", other[0].Counters)
	}
}

func TestConcurrentReplicasCountOnce(t *testing.T) {
	ctx := context.Background()
	s1, _ := newStore(t)
	rdb2 := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr(t)})
	defer rdb2.Close()
	s2 := New(rdb2, s1.prefix)
	var wg sync.WaitGroup
	for _, s := range []*Store{s1, s2, s1, s2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				if _, err := s.Count(ctx, "shop", fmt.Sprintf("e-%d", i), day1, map[string]int64{OrdersCreated: 1}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	days, err := s1.Days(ctx, "shop", day1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := days[0].Counters[OrdersCreated]; got != 200 {
		t.Errorf("orders_created = %d after 4 replicas counted the same 200 events, want 200", got)
	}
}

func TestInvalid(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	if _, err := s.Count(ctx, "", "e", day1, map[string]int64{OrdersCreated: 1}); err == nil {
		t.Error("empty tenant: want an error")
	}
	if _, err := s.Count(ctx, "t", "e", day1, nil); err == nil {
		t.Error("no counters: want an error")
	}
	if _, err := s.Days(ctx, "t", day1, 0); err == nil {
		t.Error("0 days: want an error")
	}
}
