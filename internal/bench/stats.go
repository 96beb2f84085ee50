package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Percentiles summarises latency samples with exact nearest-rank percentiles.
type Percentiles struct {
	N      int     `json:"n"`
	P50Ms  float64 `json:"p50_ms"`
	P95Ms  float64 `json:"p95_ms"`
	P99Ms  float64 `json:"p99_ms"`
	MaxMs  float64 `json:"max_ms"`
	MeanMs float64 `json:"mean_ms"`
}

// Summarize returns the percentiles of samples; it sorts samples in place.
func Summarize(samples []time.Duration) Percentiles {
	if len(samples) == 0 {
		return Percentiles{}
	}
	slices.Sort(samples)
	var sum time.Duration
	for _, s := range samples {
		sum += s
	}
	return Percentiles{
		N:      len(samples),
		P50Ms:  ms(Percentile(samples, 50)),
		P95Ms:  ms(Percentile(samples, 95)),
		P99Ms:  ms(Percentile(samples, 99)),
		MaxMs:  ms(samples[len(samples)-1]),
		MeanMs: ms(sum / time.Duration(len(samples))),
	}
}

// Percentile returns the nearest-rank p-th percentile (0 < p <= 100) of sorted samples: the
// smallest sample such that at least p% of the samples are at most it.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// Ratio returns a/b, or 0 when b is 0.
func Ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// ConsumerRun is what one consumer did in a run.
type ConsumerRun struct {
	Handled int `json:"handled"`
	Errors  int `json:"errors"`
	// Seconds is from the start of the first handler call to the end of the last.
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
}

// Run is the outcome of one drain or steady run, of the worker or of the bare consumer.
type Run struct {
	Name      string                 `json:"name"`
	Consumers map[string]ConsumerRun `json:"consumers"`
	// Events is how many events were published for the run; Handled counts handler calls
	// (an event goes to every consumer the registry maps it to).
	Events   int `json:"events"`
	Handled  int `json:"handled"`
	Expected int `json:"expected"`
	Errors   int `json:"errors"`
	// Seconds spans the first handler start to the last handler end, across consumers.
	Seconds float64 `json:"seconds"`
	// EventsPerSecond is Events / Seconds.
	EventsPerSecond float64 `json:"events_per_second"`
	// CallsPerSecond is Handled / Seconds.
	CallsPerSecond float64     `json:"calls_per_second"`
	Lag            Percentiles `json:"lag"`
	CPUSeconds     float64     `json:"cpu_seconds"`
	// CPUMicrosPerCall is the child's CPU time (user and system, from its rusage) per handler
	// call.
	CPUMicrosPerCall float64   `json:"cpu_us_per_call"`
	Redis            *RedisUse `json:"redis,omitempty"`
	PeakRSSMiB       float64   `json:"peak_rss_mib"`
	TimedOut         bool      `json:"timed_out,omitempty"`
	// PublishedPerSecond is the achieved publish rate of a steady run.
	PublishedPerSecond float64 `json:"published_per_second,omitempty"`
}

// Target is one of the performance targets (BENCHMARKS.md) as this run shows it.
type Target struct {
	Name   string `json:"name"`
	Want   string `json:"want"`
	Got    string `json:"got"`
	Status string `json:"status"` // PASS, FAIL
}

// Statuses of a Target.
const (
	Pass = "PASS"
	Fail = "FAIL"
)

// EmailRun is the outcome of the email throughput run.
type EmailRun struct {
	Emails    int     `json:"emails"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
	// Connections is how many SMTP connections the sink saw.
	Connections int `json:"connections"`
}

// Report is everything one `eventworker bench` prints.
type Report struct {
	Mode    string  `json:"mode"`
	Mix     string  `json:"mix"`
	Machine Machine `json:"machine"`
	// Consumers are those whose queues the run filled.
	Consumers []string `json:"consumers"`
	Worker    *Run     `json:"worker,omitempty"`
	Baseline  *Run     `json:"baseline,omitempty"`
	// Minimal is the minimal consumer's drain of a copy of the cache queue.
	Minimal *Run `json:"minimal,omitempty"`
	// WorkerKeys is the second drain, with Keys unrelated keys in Redis (--keys).
	WorkerKeys *Run      `json:"worker_keys,omitempty"`
	Keys       int       `json:"keys,omitempty"`
	Emails     *EmailRun `json:"emails,omitempty"`
	// Ratio is the worker's cache-consumer throughput over the bare consumer's (product mix),
	// or events/s over events/s (mixed).
	Ratio   float64  `json:"ratio,omitempty"`
	Targets []Target `json:"targets"`
}

// Machine describes where the run happened.
type Machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	MemoryMiB int    `json:"memory_mib"`
	GoVersion string `json:"go_version"`
}

// redisCommandLimit is the most Redis commands a handler call of a consumer may send: one for
// the consumers whose effect is one Lua script that also records the event, four for
// notifications (the lease, the recipient's profile, the done record, and the names of an
// order's products when the event gives only their IDs: one pipelined round trip).
var redisCommandLimit = map[string]float64{"cache": 1, "inventory": 1, "tenants": 1, "analytics": 1, "notifications": 4}

// evaluate fills r.Ratio and r.Targets from the runs.
func (r *Report) evaluate() {
	r.Targets = nil
	check := func(name, want, got string, ok bool) {
		st := Fail
		if ok {
			st = Pass
		}
		r.Targets = append(r.Targets, Target{Name: name, Want: want, Got: got, Status: st})
	}
	only := func(cs ...string) bool { return slices.Equal(slices.Sorted(slices.Values(r.Consumers)), cs) }
	if r.Worker != nil && r.Minimal != nil {
		m := r.Minimal.Consumers["cache"].PerSecond
		switch {
		case only("cache"):
			w := r.Worker.Consumers["cache"].PerSecond
			check("cache queue alone vs minimal consumer", ">= 80%", fmt.Sprintf("%.0f%% (%.0f/s vs %.0f/s)", 100*Ratio(w, m), w, m), Ratio(w, m) >= 0.8)
		case only("cache", "inventory"):
			w := r.Worker.EventsPerSecond
			check("cache and inventory queues (events/s) vs minimal consumer's one queue", ">= 40%",
				fmt.Sprintf("%.0f%% (%.0f events/s vs %.0f/s)", 100*Ratio(w, m), w, m), Ratio(w, m) >= 0.4)
		}
	}
	if r.Worker != nil && r.Baseline != nil {
		w, b := r.Worker.EventsPerSecond, r.Baseline.EventsPerSecond
		if r.Mix == MixProduct {
			w, b = r.Worker.Consumers["cache"].PerSecond, r.Baseline.Consumers["cache"].PerSecond
		}
		r.Ratio = Ratio(w, b)
		name := "throughput vs bare consumer (" + r.Mix + ")"
		if r.Mix == MixProduct {
			name = "product.updated cache refresh vs bare consumer"
		}
		check(name, ">= 80%", fmt.Sprintf("%.0f%% (%.0f/s vs %.0f/s)", 100*r.Ratio, w, b), r.Ratio >= 0.8)
	}
	if r.Worker != nil && r.Worker.Redis != nil && r.Mode == ModeDrain && len(r.Consumers) == 1 {
		c := r.Consumers[0]
		if limit, ok := redisCommandLimit[c]; ok {
			got := r.Worker.Redis.CommandsPerCall
			check("Redis commands per "+c+" call", fmt.Sprintf("<= %.0f", limit), fmt.Sprintf("%.2f (%.2f round trips)", got, r.Worker.Redis.RoundTripsPerCall), got <= limit+0.005)
		}
		if c == "notifications" {
			w := r.Worker.Consumers[c].PerSecond
			check("emails through the worker to a local SMTP sink", ">= 1,000/s", fmt.Sprintf("%.0f/s", w), w >= 1000)
		}
	}
	if r.Worker != nil && r.Mode == ModeDrain {
		check("peak RSS at full speed", "<= 64 MiB", fmt.Sprintf("%.1f MiB", r.Worker.PeakRSSMiB), r.Worker.PeakRSSMiB > 0 && r.Worker.PeakRSSMiB <= 64)
	}
	if r.Worker != nil && r.WorkerKeys != nil {
		w0, w1 := r.Worker.Consumers["cache"].PerSecond, r.WorkerKeys.Consumers["cache"].PerSecond
		c0, c1 := Ratio(r.Worker.CPUSeconds, float64(r.Worker.Events)), Ratio(r.WorkerKeys.CPUSeconds, float64(r.WorkerKeys.Events))
		check(fmt.Sprintf("cache refresh cost flat from 0 to %d keys", r.Keys), "within 10%",
			fmt.Sprintf("cache %.0f/s -> %.0f/s (%+.0f%%), CPU %.0f -> %.0f µs/event", w0, w1, 100*(Ratio(w1, w0)-1), 1e6*c0, 1e6*c1),
			w1 >= 0.9*w0 && c1 <= 1.1*c0)
	}
	if r.Worker != nil && r.Mode == ModeSteady {
		ok := r.Worker.Lag.P99Ms <= 10 && !r.Worker.TimedOut && r.Worker.Handled == r.Worker.Expected &&
			r.Worker.PublishedPerSecond >= 990
		check("steady "+r.Mix+": p99 lag", "<= 10 ms at >= 1,000/s, no drops",
			fmt.Sprintf("p99 %.2f ms at %.0f/s, %d of %d handled", r.Worker.Lag.P99Ms, r.Worker.PublishedPerSecond, r.Worker.Handled, r.Worker.Expected), ok)
	}
	if r.Emails != nil {
		check("emails through the mailer alone to a local SMTP sink, reused connection", ">= 1,000/s",
			fmt.Sprintf("%.0f/s over %d connection(s)", r.Emails.PerSecond, r.Emails.Connections), r.Emails.PerSecond >= 1000)
	}
}

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes r as tables.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "machine: %d CPUs (%s), %d MiB, %s\n", r.Machine.CPUs, r.Machine.CPUModel, r.Machine.MemoryMiB, r.Machine.GoVersion)
	fmt.Fprintf(tw, "mode %s, mix %s\n\n", r.Mode, r.Mix)
	if len(r.Consumers) > 0 {
		fmt.Fprintf(tw, "queues filled: %s\n\n", strings.Join(r.Consumers, ", "))
	}
	runs := []*Run{r.Worker, r.Baseline, r.Minimal, r.WorkerKeys}
	fmt.Fprintln(tw, "run\tevents\thandled\terrors\tseconds\tevents/s\tcalls/s\tlag p50 ms\tp95 ms\tp99 ms\tmax ms\tCPU s\tCPU µs/call\tpeak RSS MiB\t")
	for _, run := range runs {
		if run == nil {
			continue
		}
		handled := fmt.Sprintf("%d/%d", run.Handled, run.Expected)
		if run.TimedOut {
			handled += " (timed out)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%.2f\t%.0f\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.0f\t%.1f\t\n", run.Name, run.Events, handled, run.Errors,
			run.Seconds, run.EventsPerSecond, run.CallsPerSecond, run.Lag.P50Ms, run.Lag.P95Ms, run.Lag.P99Ms, run.Lag.MaxMs,
			run.CPUSeconds, run.CPUMicrosPerCall, run.PeakRSSMiB)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "run\tRedis commands sent/call\tround trips/call\texecuted/call (scripts' commands included)\t")
	for _, run := range runs {
		if run == nil || run.Redis == nil {
			continue
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.2f: %s\t\n", run.Name, run.Redis.CommandsPerCall, run.Redis.RoundTripsPerCall,
			run.Redis.ExecutedPerCall, run.Redis.breakdown())
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "run\tconsumer\thandled\terrors\tseconds\thandled/s\t")
	for _, run := range runs {
		if run == nil {
			continue
		}
		for _, c := range slices.Sorted(maps.Keys(run.Consumers)) {
			cr := run.Consumers[c]
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.2f\t%.0f\t\n", run.Name, c, cr.Handled, cr.Errors, cr.Seconds, cr.PerSecond)
		}
	}
	if r.Worker != nil && r.Worker.PublishedPerSecond > 0 {
		fmt.Fprintf(tw, "\npublished at %.0f events/s\n", r.Worker.PublishedPerSecond)
	}
	if r.Emails != nil {
		fmt.Fprintf(tw, "\nemails: %d in %.2f s = %.0f/s over %d SMTP connection(s)\n", r.Emails.Emails, r.Emails.Seconds, r.Emails.PerSecond, r.Emails.Connections)
	}
	if len(r.Targets) > 0 {
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "target\twant\tgot\tstatus\t")
		for _, t := range r.Targets {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", t.Name, t.Want, t.Got, t.Status)
		}
	}
	return tw.Flush()
}
