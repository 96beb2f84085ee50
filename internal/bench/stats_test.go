package bench

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/eventworker/eventworker/registry"
)

func TestPercentileNearestRank(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 100; i++ {
		s = append(s, time.Duration(101-i)*time.Millisecond)
	}
	p := Summarize(s)
	if p.N != 100 || p.P50Ms != 50 || p.P95Ms != 95 || p.P99Ms != 99 || p.MaxMs != 100 || p.MeanMs != 50.5 {
		t.Errorf("Summarize = %+v", p)
	}
	if got := Percentile([]time.Duration{7}, 99); got != 7 {
		t.Errorf("one sample: %v", got)
	}
	if got := Percentile(nil, 50); got != 0 {
		t.Errorf("no samples: %v", got)
	}
	if (Summarize(nil) != Percentiles{}) {
		t.Error("Summarize(nil) is not zero")
	}
}

func TestRatio(t *testing.T) {
	if Ratio(1, 0) != 0 || Ratio(3, 4) != 0.75 {
		t.Error("Ratio")
	}
}

func TestReportTargets(t *testing.T) {
	r := &Report{Mode: ModeDrain, Mix: MixProduct,
		Worker:   &Run{Name: "worker", Consumers: map[string]ConsumerRun{"cache": {PerSecond: 900}}, PeakRSSMiB: 70},
		Baseline: &Run{Name: "bare consumer", Consumers: map[string]ConsumerRun{"cache": {PerSecond: 1000}}},
		Emails:   &EmailRun{Emails: 10, PerSecond: 999, Connections: 1},
	}
	r.evaluate()
	want := map[string]string{
		"product.updated cache refresh vs bare consumer":                          Pass,
		"peak RSS at full speed":                                                  Fail,
		"emails through the mailer alone to a local SMTP sink, reused connection": Fail,
	}
	if r.Ratio != 0.9 || len(r.Targets) != len(want) {
		t.Fatalf("ratio %v, targets %+v", r.Ratio, r.Targets)
	}
	for _, tg := range r.Targets {
		if want[tg.Name] != tg.Status {
			t.Errorf("%s: %s, want %s (%s)", tg.Name, tg.Status, want[tg.Name], tg.Got)
		}
	}
	var text, js bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"worker", "bare consumer", "90% (900/s vs 1000/s)", "FAIL"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("text lacks %q:\n%s", s, text.String())
		}
	}
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Ratio != 0.9 {
		t.Errorf("JSON round trip: %v %+v", err, back)
	}

	steady := &Report{Mode: ModeSteady, Mix: MixMixed, Worker: &Run{Lag: Percentiles{P99Ms: 9}, Handled: 5, Expected: 5, PublishedPerSecond: 1000}}
	steady.evaluate()
	if len(steady.Targets) != 1 || steady.Targets[0].Status != Pass {
		t.Errorf("steady targets: %+v", steady.Targets)
	}
}

func TestWorkloadExpected(t *testing.T) {
	reg, err := registry.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, mix := range []string{MixProduct, MixMixed} {
		w, err := newWorkload(reg, mix)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{1, 7, 20, 45} {
			want := map[string]int{}
			for i := range n {
				ev, err := w.event(i)
				if err != nil {
					t.Fatal(err)
				}
				body, err := json.Marshal(registry.Event{ID: "3f1c2a4e-8b7d-4c5e-9a6f-1b2c3d4e5f60", Type: ev.Type, Version: mustLatest(t, reg, ev.Type),
					OccurredAt: time.Now(), TenantID: ev.TenantID, Data: ev.Data.(json.RawMessage)})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := reg.Validate(ev.Type, body); err != nil {
					t.Fatalf("%s event %d is invalid: %v", mix, i, err)
				}
				if _, err := decoders[ev.Type](ev.Data.(json.RawMessage)); err != nil {
					t.Fatalf("bare decoder of %s: %v", ev.Type, err)
				}
				for _, c := range reg.ConsumersOf(ev.Type) {
					want[c]++
				}
			}
			got := w.expected(n)
			for c, v := range want {
				if got[c] != v {
					t.Errorf("%s n=%d: expected[%s] = %d, want %d", mix, n, c, got[c], v)
				}
			}
		}
	}
	if _, err := newWorkload(reg, "nope"); err == nil {
		t.Error("unknown mix accepted")
	}
}

func mustLatest(t *testing.T, reg *registry.Registry, typ string) int {
	t.Helper()
	v, err := reg.Latest(typ)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestReportTargetsAgainstTheMinimalConsumer(t *testing.T) {
	for _, tc := range []struct {
		name      string
		consumers []string
		worker    *Run
		want      map[string]string
	}{
		{"cache alone", []string{"cache"}, &Run{
			Consumers: map[string]ConsumerRun{"cache": {PerSecond: 850}}, EventsPerSecond: 850, PeakRSSMiB: 30,
			Redis: &RedisUse{CommandsPerCall: 1, RoundTripsPerCall: 1},
		}, map[string]string{
			"cache queue alone vs minimal consumer": Pass,
			"Redis commands per cache call":         Pass,
			"peak RSS at full speed":                Pass,
		}},
		{"cache and inventory", []string{"inventory", "cache"}, &Run{
			Consumers: map[string]ConsumerRun{"cache": {PerSecond: 390}}, EventsPerSecond: 390, PeakRSSMiB: 30,
		}, map[string]string{
			"cache and inventory queues (events/s) vs minimal consumer's one queue": Fail,
			"peak RSS at full speed": Pass,
		}},
		{"notifications", []string{"notifications"}, &Run{
			Consumers: map[string]ConsumerRun{"notifications": {PerSecond: 1200}}, PeakRSSMiB: 30,
			Redis: &RedisUse{CommandsPerCall: 5},
		}, map[string]string{
			"Redis commands per notifications call":          Fail,
			"emails through the worker to a local SMTP sink": Pass,
			"peak RSS at full speed":                         Pass,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Report{Mode: ModeDrain, Mix: MixProduct, Consumers: tc.consumers, Worker: tc.worker,
				Minimal: &Run{Consumers: map[string]ConsumerRun{"cache": {PerSecond: 1000}}}}
			r.evaluate()
			if len(r.Targets) != len(tc.want) {
				t.Fatalf("targets %+v, want %v", r.Targets, tc.want)
			}
			for _, tg := range r.Targets {
				if tc.want[tg.Name] != tg.Status {
					t.Errorf("%s: %s (%s), want %s", tg.Name, tg.Status, tg.Got, tc.want[tg.Name])
				}
			}
		})
	}
}

func TestParseCommandStats(t *testing.T) {
	info := "# Commandstats\r\ncmdstat_evalsha:calls=12,usec=40,usec_per_call=3.33,rejected_calls=0,failed_calls=0\r\ncmdstat_info:calls=3,usec=1\r\ncmdstat_set:calls=5,usec=2\r\n"
	before := parseCommandStats(info)
	after := parseCommandStats(strings.NewReplacer("calls=12", "calls=20", "calls=3,", "calls=4,").Replace(info))
	got := after.since(before)
	if len(got) != 1 || got["evalsha"] != 8 {
		t.Errorf("since = %v, want evalsha 8 (info is the harness's own)", got)
	}
}
