package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/eventworker/eventworker/internal/analytics"
	"github.com/eventworker/eventworker/internal/testenv"
)

func TestStats(t *testing.T) {
	addr := testenv.RedisAddr(t)
	rdb, prefix := testenv.Redis(t, "test-stats")
	today := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	old := now
	now = func() time.Time { return today }
	t.Cleanup(func() { now = old })

	s := analytics.New(rdb, prefix)
	ctx := context.Background()
	counts := []struct {
		id   string
		at   time.Time
		incr map[string]int64
	}{
		{"e1", today, map[string]int64{analytics.OrdersCreated: 1}},
		{"e2", today, map[string]int64{analytics.OrdersConfirmed: 1, "revenue:EUR": 1250}},
		{"e3", today, map[string]int64{analytics.OrdersConfirmed: 1, "revenue:JPY": 300}},
		{"e4", today.AddDate(0, 0, -1), map[string]int64{analytics.UsersRegistered: 1}},
		{"e5", today.AddDate(0, 0, -1), map[string]int64{analytics.OrdersCancelled: 1}},
		{"e6", today.AddDate(0, 0, -9), map[string]int64{analytics.OrdersCreated: 1}}, // outside 7 days
	}
	for _, c := range counts {
		if _, err := s.Count(ctx, "acme", c.id, c.at, c.incr); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("EVENTWORKER_REDIS_URL", "redis://"+addr)
	t.Setenv("EVENTWORKER_CACHE_PREFIX", prefix)

	r := runCLI(t, nil, "stats", "--tenant", "acme")
	if r.code != 0 {
		t.Fatalf("stats: exit %d, stderr %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 1+1+1+7+1 { // title, blank, header, 7 days, total
		t.Fatalf("stats printed %d lines:\n%s", len(lines), r.stdout)
	}
	rows := map[string]string{}
	for _, l := range lines[3:] {
		f := strings.Fields(l)
		rows[f[0]] = strings.Join(f[1:], " ")
	}
	for day, want := range map[string]string{
		"2026-11-21": "0 0 0 0 -",
		"2026-11-26": "0 0 1 1 -",
		"2026-11-27": "1 2 0 0 EUR 12.50, JPY 300",
		"total":      "1 2 1 1 EUR 12.50, JPY 300",
	} {
		if rows[day] != want {
			t.Errorf("row %s = %q, want %q:\n%s", day, rows[day], want, r.stdout)
		}
	}

	r = runCLI(t, nil, "stats", "--tenant", "acme", "--days", "2", "--json")
	if r.code != 0 {
		t.Fatalf("stats --json: exit %d, stderr %s", r.code, r.stderr)
	}
	var got struct {
		Tenant string     `json:"tenant_id"`
		Days   []statsDay `json:"days"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("stats --json output is not JSON: %v\n%s", err, r.stdout)
	}
	if got.Tenant != "acme" || len(got.Days) != 2 || got.Days[1].Date != "2026-11-27" ||
		got.Days[1].OrdersConfirmed != 2 || got.Days[1].RevenueMinor["EUR"] != 1250 || got.Days[0].UsersRegistered != 1 {
		t.Errorf("stats --json = %+v", got)
	}
}

func TestStatsUsage(t *testing.T) {
	for _, args := range [][]string{{"stats"}, {"stats", "--tenant", "a", "--days", "0"}, {"stats", "--tenant", "a", "extra"}} {
		if r := runCLI(t, nil, args...); r.code != 2 || r.stderr == "" {
			t.Errorf("%q: exit %d, stderr %q; want a usage error", args, r.code, r.stderr)
		}
	}
}
