package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/eventworker/eventworker/internal/testenv"
	"github.com/eventworker/eventworker/internal/version"
	"github.com/eventworker/eventworker/registry"
)

// The deployment files this test runs for real, relative to this package.
const (
	deployPrometheusConfig = "../../deploy/prometheus/prometheus.yml"
	deployAlertRules       = "../../deploy/prometheus/alerts.yml"
	deployDashboard        = "../../deploy/grafana/eventworker.json"
)

// promServer is a real Prometheus server (Debian's package) run by a test.
type promServer struct {
	t   *testing.T
	url string
}

// startPrometheus runs /usr/bin/prometheus with deploy/prometheus/prometheus.yml, changed only
// to scrape and evaluate every second, to scrape the worker at target, and to load the alert
// rules from the repository; its data lives in a temporary directory.
func startPrometheus(t *testing.T, target string) *promServer {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		testenv.Unavailable(t, "the prometheus server is not on PATH (Debian: apt-get install prometheus): %v", err)
	}
	raw, err := os.ReadFile(deployPrometheusConfig)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	port := testenv.FreePort(t)
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	rules, err := filepath.Abs(deployAlertRules)
	if err != nil {
		t.Fatal(err)
	}
	cfg["global"] = map[string]any{"scrape_interval": "1s", "evaluation_interval": "1s"}
	cfg["rule_files"] = []any{rules}
	jobs, _ := cfg["scrape_configs"].([]any)
	scrapesWorker := false
	for _, j := range jobs {
		sc := j.(map[string]any)
		switch sc["job_name"] {
		case "eventworker":
			sc["static_configs"] = []any{map[string]any{"targets": []any{target}}}
			scrapesWorker = true
		case "prometheus":
			sc["static_configs"] = []any{map[string]any{"targets": []any{listen}}}
		}
	}
	if !scrapesWorker {
		t.Fatalf("%s has no scrape job eventworker", deployPrometheusConfig)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "prometheus.yml")
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, out, 0o644); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	p := &promServer{t: t, url: "http://" + listen}
	cmd := exec.Command(bin, "--config.file="+conf, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+listen, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logFile.Close()
		if t.Failed() {
			log, _ := os.ReadFile(logFile.Name())
			t.Logf("prometheus's log:\n%s", log)
		}
	})
	p.await("Prometheus ready", func() (bool, string) {
		resp, err := http.Get(p.url + "/-/ready")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	return p
}

// await polls cond every 200 ms for up to 60 s; cond returns whether it holds and what it saw.
func (p *promServer) await(what string, cond func() (bool, string)) {
	p.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ok, saw := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("timed out waiting for %s; last saw: %s", what, saw)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// sample is one series of an instant query's answer.
type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// query runs an instant query through the HTTP API; a query Prometheus rejects fails the test.
func (p *promServer) query(q string) []sample {
	p.t.Helper()
	resp, err := http.Get(p.url + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		p.t.Fatalf("query %s: %v", q, err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		p.t.Fatalf("query %s: %v", q, err)
	}
	if body.Status != "success" {
		p.t.Fatalf("query %s: %s: %s", q, body.Status, body.Error)
	}
	var out []sample
	switch body.Data.ResultType {
	case "vector":
		if err := json.Unmarshal(body.Data.Result, &out); err != nil {
			p.t.Fatalf("query %s: %v", q, err)
		}
	case "scalar":
		out = []sample{{}}
	}
	return out
}

// value is a sample's value as Prometheus printed it ("1", "NaN").
func (s sample) value() string { v, _ := s.Value[1].(string); return v }

// awaitSeries waits until q returns a series for which match holds, and returns it.
func (p *promServer) awaitSeries(q string, match func(sample) bool) sample {
	p.t.Helper()
	var found sample
	p.await("a series of "+q, func() (bool, string) {
		res := p.query(q)
		for _, s := range res {
			if match(s) {
				found = s
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", res)
	})
	return found
}

// dashboardPanel is a panel of the dashboard with its queries, the dashboard's variables put
// in as Grafana would.
type dashboardPanel struct {
	title   string
	queries []string
}

func dashboardQueries(t *testing.T) []dashboardPanel {
	t.Helper()
	raw, err := os.ReadFile(deployDashboard)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string                  `json:"title"`
			Targets []struct{ Expr string } `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	vars := strings.NewReplacer("$__rate_interval", "1m", "$__range", "1h", "$instance", ".*")
	var out []dashboardPanel
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			continue // a row
		}
		dp := dashboardPanel{title: p.Title}
		for _, tg := range p.Targets {
			dp.queries = append(dp.queries, vars.Replace(tg.Expr))
		}
		out = append(out, dp)
	}
	return out
}

// TestPrometheusScrapesTheWorker runs the worker as `eventworker run` wires it and a real
// Prometheus with the repository's prometheus.yml and alert rules: Prometheus scrapes the
// worker's series, loads every rule healthy, answers every query of the Grafana dashboard with
// data, and puts EventworkerNotReady and EventworkerDown in pending state when the worker's
// Redis, then the worker, goes away.
func TestPrometheusScrapesTheWorker(t *testing.T) {
	if _, err := exec.LookPath("prometheus"); err != nil {
		testenv.Unavailable(t, "the prometheus server is not on PATH (Debian: apt-get install prometheus): %v", err)
	}
	e := startE2E(t)
	// One event, so that the counters and histograms by event type and template have series.
	e.publish("t1", time.Now().Add(-time.Second), &registry.UserRegistered{UserID: "u1", Email: "u1@example.com", Name: "Ann"}, "")
	e.wait("the event handled and counted", 30*time.Second, func() bool {
		return e.metric(`eventworker_emails_sent_total{template="welcome"} 1`) &&
			e.metric(`eventworker_event_lag_seconds_count{event_type="user.registered"}`)
	})

	p := startPrometheus(t, e.cfg.HTTPAddr)
	target := func(s sample) bool {
		return s.Metric["job"] == "eventworker" && s.Metric["instance"] == e.cfg.HTTPAddr
	}
	p.awaitSeries("eventworker_ready", func(s sample) bool { return target(s) && s.value() == "1" })
	info := p.awaitSeries("eventworker_build_info", target)
	if info.Metric["version"] != version.Current() || info.Metric["goversion"] != runtime.Version() || info.Metric["revision"] == "" {
		t.Errorf("eventworker_build_info %v, want version %s and goversion %s", info.Metric, version.Current(), runtime.Version())
	}
	p.awaitSeries(`eventworker_events_received_total{event_type="user.registered"}`, target)

	// The rules of alerts.yml, every one loaded and evaluated without error.
	var want []string
	rules, err := os.ReadFile(deployAlertRules)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`(?m)^\s*- alert: (\w+)`).FindAllSubmatch(rules, -1) {
		want = append(want, string(m[1]))
	}
	if len(want) < 5 {
		t.Fatalf("%s names %d alerts: %v", deployAlertRules, len(want), want)
	}
	p.await("every alert rule evaluated healthy", func() (bool, string) {
		resp, err := http.Get(p.url + "/api/v1/rules?type=alert")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		var body struct {
			Data struct {
				Groups []struct {
					Rules []struct{ Name, Health, LastError string }
				}
			}
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			return false, err.Error()
		}
		health := map[string]string{}
		for _, g := range body.Data.Groups {
			for _, r := range g.Rules {
				health[r.Name] = r.Health + r.LastError
			}
		}
		for _, name := range want {
			if health[name] != "ok" {
				return false, fmt.Sprintf("%v", health)
			}
		}
		return true, ""
	})

	// Every panel of the dashboard: each query is valid PromQL for this Prometheus, and one of
	// the panel's queries at least returns data.
	panels := dashboardQueries(t)
	if len(panels) < 10 {
		t.Fatalf("%s: only %d panels with queries", deployDashboard, len(panels))
	}
	for _, panel := range panels {
		p.await(fmt.Sprintf("data for the panel %q", panel.title), func() (bool, string) {
			data := false
			for _, q := range panel.queries {
				if len(p.query(q)) > 0 { // p.query fails the test on a query Prometheus rejects
					data = true
				}
			}
			return data, strings.Join(panel.queries, " | ")
		})
	}
	// The dashboard's instance variable: label_values(up{job="eventworker"}, instance).
	p.await("the instance variable's values", func() (bool, string) {
		resp, err := http.Get(p.url + "/api/v1/label/instance/values?match[]=" + url.QueryEscape(`up{job="eventworker"}`))
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		var body struct{ Data []string }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return len(body.Data) == 1 && body.Data[0] == e.cfg.HTTPAddr, fmt.Sprint(body.Data)
	})

	// Redis goes away: /readyz (as a readiness probe asks it) turns the gauge to 0, and the
	// not-ready alert starts its pending period. Then the worker stops: the down alert does.
	pending := func(alert string) string {
		return fmt.Sprintf(`ALERTS{alertname=%q, alertstate="pending", job="eventworker"}`, alert)
	}
	e.redisOff()
	e.wait("readyz to report redis", 30*time.Second, func() bool {
		code, body := readyz("http://" + e.cfg.HTTPAddr + "/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "redis")
	})
	p.awaitSeries(pending("EventworkerNotReady"), target)
	e.redisUp()
	e.stop()
	p.awaitSeries(pending("EventworkerDown"), target)
}
