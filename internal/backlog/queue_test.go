package backlog_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/eventworker/eventworker/internal/backlog"
	"github.com/eventworker/eventworker/internal/broker"
)

func TestQueuesOfAreTheQueuesTheWorkerDeclares(t *testing.T) {
	delays := []time.Duration{10 * time.Second, time.Minute}
	consumers := []string{"cache", "notifications"}
	// A repeated delay uses the same retry queue, listed once.
	qs := backlog.QueuesOf("eventworker", consumers, []time.Duration{10 * time.Second, time.Minute, time.Minute})

	var want []string
	for _, c := range consumers {
		want = append(want, broker.Names{Prefix: "eventworker", Consumer: c}.Queues(delays)...)
	}
	want = append(want, broker.UnroutableQueue("eventworker"))
	var got []string
	kinds := map[string]int{}
	for _, q := range qs {
		got = append(got, q.Name)
		kinds[q.Kind]++
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("QueuesOf = %v, want %v", got, want)
	}
	wantKinds := map[string]int{backlog.KindWork: 2, backlog.KindRetry: 4, backlog.KindDeadLetter: 2, backlog.KindUnroutable: 1}
	for k, n := range wantKinds {
		if kinds[k] != n {
			t.Errorf("%d queues of kind %s, want %d", kinds[k], k, n)
		}
	}
	for _, q := range qs {
		if q.Kind == backlog.KindWork && q.Name != "eventworker."+q.Consumer {
			t.Errorf("work queue %s of consumer %s", q.Name, q.Consumer)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	good := func() backlog.Config {
		return backlog.Config{URL: "amqp://h/", Metrics: backlog.NewMetrics(nil), Queues: backlog.QueuesOf("p", []string{"c"}, nil)}
	}
	tests := []struct {
		name   string
		change func(*backlog.Config)
		want   []string
	}{
		{"valid", func(*backlog.Config) {}, nil},
		{"everything wrong at once", func(c *backlog.Config) {
			c.URL, c.Interval, c.Metrics, c.Queues = "", -time.Second, nil, nil
		}, []string{"URL", "Interval", "Metrics", "Queues: none"}},
		{"a queue twice and a kind unknown", func(c *backlog.Config) {
			c.Queues = append(c.Queues, c.Queues[0], backlog.Queue{Name: "x", Consumer: "c", Kind: "other"})
		}, []string{"listed twice", `kind "other"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good()
			tt.change(&c)
			_, err := backlog.New(c)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if !errors.Is(err, backlog.ErrConfig) {
				t.Fatalf("New: %v, want ErrConfig", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}

func TestMetricsStartWithTheirReasons(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	backlog.NewMetrics(reg)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "eventworker_queue_poll_errors_total" && len(mf.GetMetric()) != len(backlog.AllReasons()) {
			t.Errorf("%d poll error series before any poll, want %d", len(mf.GetMetric()), len(backlog.AllReasons()))
		}
		if mf.GetName() == "eventworker_queue_messages" {
			t.Error("depth series before any poll")
		}
	}
}
