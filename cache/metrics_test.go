package cache_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/eventworker/eventworker/cache"
)

func TestMetricsNamesAndHelp(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := cache.NewMetrics(reg)
	m.Hits.Inc()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	got := map[string]string{}
	for _, mf := range mfs {
		got[mf.GetName()] = mf.GetHelp()
	}
	for _, name := range []string{
		"eventworker_cache_hits_total", "eventworker_cache_misses_total",
		"eventworker_cache_errors_total", "eventworker_cache_keys_purged_total",
	} {
		if help, ok := got[name]; !ok || len(help) < 20 {
			t.Errorf("metric %s: registered %v, help %q", name, ok, help)
		}
	}
	if len(got) != 4 {
		t.Errorf("registered %d metrics, want 4", len(got))
	}
	// Every op starts at 0, so a rate() sees the first error.
	if n := testutil.CollectAndCount(m.Errors, "eventworker_cache_errors_total"); n != len(cache.AllOps()) {
		t.Errorf("errors series = %d, want one per op (%d)", n, len(cache.AllOps()))
	}
	for _, op := range cache.AllOps() {
		if op != strings.ToLower(op) || strings.ContainsAny(op, " -") {
			t.Errorf("op %q is not snake_case", op)
		}
	}
	if testutil.ToFloat64(m.Hits) != 1 {
		t.Error("hits did not count")
	}
}

// TestNilMetrics checks that a Cache without metrics works.
func TestNilMetrics(t *testing.T) {
	rdb, prefix := newRedis(t)
	c, err := cache.New(rdb, cache.Config{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if found, err := c.GetJSON(t.Context(), c.Key("absent"), &v); found || err != nil {
		t.Errorf("GetJSON = %v, %v", found, err)
	}
	if _, _, err := c.PurgeTenant(t.Context(), cache.Once{}, "acme"); err != nil {
		t.Errorf("PurgeTenant: %v", err)
	}
	if _, err := c.Purge(t.Context(), "", nil); err == nil {
		t.Error("Purge(\"\") = nil error")
	}
}
