package deploy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.yaml.in/yaml/v3"

	"github.com/eventworker/eventworker/cache"
	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/internal/backlog"
	"github.com/eventworker/eventworker/internal/mailer"
	"github.com/eventworker/eventworker/internal/metrics"
	"github.com/eventworker/eventworker/internal/testenv"
)

// The files under test, relative to this directory.
const (
	alertsFile       = "prometheus/alerts.yml"
	alertsTestFile   = "prometheus/alerts_test.yml"
	prometheusFile   = "prometheus/prometheus.yml"
	dashboardFile    = "grafana/eventworker.json"
	datasourcesFile  = "grafana/provisioning/datasources/prometheus.yaml"
	dashProviderFile = "grafana/provisioning/dashboards/eventworker.yaml"
	kubernetesDir    = "kubernetes"
	composeFile      = "../compose.yaml"
	dockerfile       = "../Dockerfile"
	dockerignoreFile = "../.dockerignore"
)

// job is the scrape job the alert rules and the dashboard select the worker by.
const job = "eventworker"

func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		testenv.Unavailable(t, "promtool is not on PATH (Debian: apt-get install prometheus): %v", err)
	}
	return p
}

// runPromtool runs promtool with args in this directory and fails the test with its output
// when it exits non-zero.
func runPromtool(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(promtool(t), args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// yamlDocs decodes every document of a YAML file.
func yamlDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(readFile(t, path)))
	var docs []map[string]any
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
}

func yamlFile(t *testing.T, path string) map[string]any {
	t.Helper()
	docs := yamlDocs(t, path)
	if len(docs) != 1 {
		t.Fatalf("%s: %d YAML documents, want 1", path, len(docs))
	}
	return docs[0]
}

// get walks a decoded YAML or JSON value along keys (strings for maps, ints for lists) and
// returns nil where the path does not exist.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func str(v any, path ...any) string {
	s, _ := get(v, path...).(string)
	return s
}

func list(v any, path ...any) []any {
	l, _ := get(v, path...).([]any)
	return l
}

// knownMetrics returns every series name the worker exports: the metrics of the constructors
// the worker wires (internal/metrics, mailer, cache, backlog) on the registry it serves (with the Go and
// process collectors), histograms with their _bucket, _sum and _count, and the up series
// Prometheus adds to every target.
func knownMetrics(t *testing.T) map[string]bool {
	t.Helper()
	reg := metrics.NewRegistry()
	m := metrics.New(reg)
	mm := mailer.NewMetrics(reg)
	cache.NewMetrics(reg)
	bm := backlog.NewMetrics(reg)
	bm.Messages.WithLabelValues("q", "c", backlog.KindWork)
	bm.Consumers.WithLabelValues("q", "c", backlog.KindWork)
	m.TrackOldestInFlight("c", func() time.Duration { return 0 })
	// A vector shows in a scrape only once it has a child: give each one.
	m.InitConsumer("c")
	m.EventsReceived.WithLabelValues("c", "t", "1")
	m.ObserveLag("t", time.Second)
	m.SetBuildInfo("v", "r", "go")
	m.SetReady(true)
	m.InitAMQPNodes(metrics.ClientConsume, []string{"rabbit:5672"})
	mm.Sent.WithLabelValues("t")
	mm.Failed.WithLabelValues("t", mailer.ReasonPermanent)
	mm.Suppressed.WithLabelValues("t")
	mm.SendDuration.WithLabelValues("t")

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{"up": true}
	for _, f := range families {
		name := f.GetName()
		known[name] = true
		if f.GetType() == dto.MetricType_HISTOGRAM {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				known[name+s] = true
			}
		}
		if f.GetType() == dto.MetricType_SUMMARY {
			known[name+"_sum"], known[name+"_count"] = true, true
		}
	}
	// Every metric the registry describes must be in the list, or a new vector was not given a
	// child above and the dashboard could not use it.
	descs := make(chan *prometheus.Desc, 256)
	go func() { reg.Describe(descs); close(descs) }()
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range descs {
		if m := fqName.FindStringSubmatch(d.String()); m != nil && strings.HasPrefix(m[1], "eventworker_") && !known[m[1]] {
			t.Errorf("metric %s is registered but this test does not give it a series: add it to knownMetrics", m[1])
		}
	}
	return known
}

// promqlKeywords are the words of PromQL that are not series names.
var promqlKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"bool": true, "and": true, "or": true, "unless": true, "offset": true, "inf": true, "nan": true, "atan2": true,
}

var (
	promqlStrings  = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")
	promqlMatchers = regexp.MustCompile(`\{[^{}]*\}`)
	promqlNameRE   = regexp.MustCompile(`__name__\s*(=~|=)\s*"((?:[^"\\]|\\.)*)"`)
	promqlRanges   = regexp.MustCompile(`\[[^\]]*\]`)
	promqlGrouping = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promqlVars     = regexp.MustCompile(`\$\{?\w+\}?`)
	promqlIdent    = regexp.MustCompile(`(^|[^A-Za-z0-9_:.$])([A-Za-z_:][A-Za-z0-9_:]*)`)
)

// seriesNames returns the series names an expression selects: identifiers that are not
// functions, keywords, labels or strings, and the values of __name__ matchers (name regexps
// are returned anchored, prefixed with "~").
func seriesNames(expr string) []string {
	var names []string
	for _, m := range promqlNameRE.FindAllStringSubmatch(expr, -1) {
		if m[1] == "=~" {
			names = append(names, "~^(?:"+m[2]+")$")
		} else {
			names = append(names, m[2])
		}
	}
	s := promqlMatchers.ReplaceAllString(expr, " ")
	s = promqlStrings.ReplaceAllString(s, " ")
	s = promqlRanges.ReplaceAllString(s, " ")
	s = promqlGrouping.ReplaceAllString(s, " ")
	s = promqlVars.ReplaceAllString(s, " ")
	for _, m := range promqlIdent.FindAllStringSubmatchIndex(s, -1) {
		word := s[m[4]:m[5]]
		rest := strings.TrimLeft(s[m[5]:], " \t\n")
		if promqlKeywords[strings.ToLower(word)] || strings.HasPrefix(rest, "(") {
			continue
		}
		names = append(names, word)
	}
	return names
}

func TestSeriesNames(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`up{job="eventworker"} == 0`, []string{"up"}},
		{`histogram_quantile(0.99, sum by (le, consumer) (rate(eventworker_handler_duration_seconds_bucket{instance=~"$instance"}[$__rate_interval])))`,
			[]string{"eventworker_handler_duration_seconds_bucket"}},
		{`sum(rate(a_total[5m] offset 1h)) / ignoring (x) group_left (y) b > bool 1e3`, []string{"a_total", "b"}},
		{`absent(up{job="x"}) or vector(0)`, []string{"up"}},
		{`rate({__name__=~"x_(a|b)_total", job="j"}[5m])`, []string{"~^(?:x_(a|b)_total)$"}},
		{`count by (version) (eventworker_build_info) * on (instance) group_left eventworker_ready`, []string{"eventworker_build_info", "eventworker_ready"}},
	}
	for _, tt := range tests {
		if got := seriesNames(tt.expr); !slices.Equal(got, tt.want) {
			t.Errorf("seriesNames(%q) = %q, want %q", tt.expr, got, tt.want)
		}
	}
}

// checkSeriesNames fails the test for every series an expression names that the worker does
// not export, and when it names none.
func checkSeriesNames(t *testing.T, where, expr string, known map[string]bool) []string {
	t.Helper()
	names := seriesNames(expr)
	if len(names) == 0 {
		t.Errorf("%s: %q selects no series", where, expr)
	}
	for _, n := range names {
		if re, ok := strings.CutPrefix(n, "~"); ok {
			matched := 0
			for k := range known {
				if regexp.MustCompile(re).MatchString(k) {
					matched++
				}
			}
			if matched == 0 {
				t.Errorf("%s: __name__ regexp %s matches no metric of the worker", where, re)
			}
			continue
		}
		if !known[n] {
			t.Errorf("%s: %s is not a metric of the worker (expression %q)", where, n, expr)
		}
	}
	return names
}

func TestPromtoolCheckRules(t *testing.T) {
	out := runPromtool(t, "check", "rules", alertsFile)
	t.Log(strings.TrimSpace(out))
}

func TestPromtoolTestRules(t *testing.T) {
	out := runPromtool(t, "test", "rules", alertsTestFile)
	if !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool test rules did not report SUCCESS:\n%s", out)
	}
	// Every alert has a test in which it fires.
	fired := map[string]bool{}
	for _, tc := range list(yamlFile(t, alertsTestFile), "tests") {
		for _, at := range list(tc, "alert_rule_test") {
			if len(list(at, "exp_alerts")) > 0 {
				fired[str(at, "alertname")] = true
			}
		}
	}
	for _, r := range alertRules(t) {
		if !fired[r.Alert] {
			t.Errorf("%s: alert %s has no test in %s where it fires", alertsFile, r.Alert, alertsTestFile)
		}
	}
}

func TestPromtoolCheckConfig(t *testing.T) {
	out := runPromtool(t, "check", "config", prometheusFile)
	if !strings.Contains(out, "1 rule files found") {
		t.Errorf("promtool check config found no rule file:\n%s", out)
	}
	cfg := yamlFile(t, prometheusFile)
	if files := list(cfg, "rule_files"); len(files) != 1 || files[0] != filepath.Base(alertsFile) {
		t.Errorf("rule_files = %v, want [%s] (beside the config, as compose.yaml mounts it)", files, filepath.Base(alertsFile))
	}
	_, port, _ := net.SplitHostPort(config.Default().HTTPAddr)
	found := false
	for _, sc := range list(cfg, "scrape_configs") {
		if str(sc, "job_name") != job {
			continue
		}
		found = true
		if p := str(sc, "metrics_path"); p != "" && p != "/metrics" {
			t.Errorf("job %s scrapes %s, the worker serves /metrics", job, p)
		}
		targets := list(sc, "static_configs", 0, "targets")
		if len(targets) != 1 || targets[0] != "eventworker:"+port {
			t.Errorf("job %s targets %v, want [eventworker:%s] (the compose service and the worker's port)", job, targets, port)
		}
	}
	if !found {
		t.Errorf("%s has no scrape job %q", prometheusFile, job)
	}
}

type alertRule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

func alertRules(t *testing.T) []alertRule {
	t.Helper()
	var f struct {
		Groups []struct {
			Name  string      `yaml:"name"`
			Rules []alertRule `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(readFile(t, alertsFile), &f); err != nil {
		t.Fatal(err)
	}
	var rules []alertRule
	for _, g := range f.Groups {
		rules = append(rules, g.Rules...)
	}
	if len(rules) == 0 {
		t.Fatalf("%s has no rules", alertsFile)
	}
	return rules
}

func TestAlertRules(t *testing.T) {
	known := knownMetrics(t)
	var names []string
	for _, r := range alertRules(t) {
		names = append(names, r.Alert)
		where := alertsFile + ": " + r.Alert
		if r.Alert == "" {
			t.Errorf("%s: a recording rule or a rule without a name; this file holds alerts", alertsFile)
			continue
		}
		if d, err := time.ParseDuration(r.For); err != nil || d <= 0 {
			t.Errorf("%s: for %q, want a positive duration", where, r.For)
		}
		if s := r.Labels["severity"]; s != "critical" && s != "warning" {
			t.Errorf("%s: severity %q, want critical or warning", where, s)
		}
		for _, a := range []string{"summary", "description", "runbook_url"} {
			if strings.TrimSpace(r.Annotations[a]) == "" {
				t.Errorf("%s: no %s annotation", where, a)
			}
		}
		if want := runbookURL + "#" + strings.ToLower(r.Alert); r.Annotations["runbook_url"] != want {
			t.Errorf("%s: runbook_url %q, want %s", where, r.Annotations["runbook_url"], want)
		}
		for _, n := range checkSeriesNames(t, where, r.Expr, known) {
			if n == "up" && !strings.Contains(r.Expr, `up{job="`+job+`"}`) {
				t.Errorf("%s: up without job=%q selects every target Prometheus has", where, job)
			}
		}
	}
	for _, want := range []string{"EventworkerDown", "EventworkerNotReady", "EventworkerDeadLettersGrowing", "EventworkerLagHigh", "EventworkerErrorRateHigh", "EventworkerBacklogGrowingNothingHandled"} {
		if !slices.Contains(names, want) {
			t.Errorf("%s has no alert %s", alertsFile, want)
		}
	}
}

// panel is a dashboard panel as far as these tests look at it.
type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ H, W, X, Y int } `json:"gridPos"`
	Targets []struct {
		Expr       string `json:"expr"`
		RefID      string `json:"refId"`
		Datasource *struct {
			UID string `json:"uid"`
		} `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	var d dashboard
	dec := json.NewDecoder(bytes.NewReader(readFile(t, dashboardFile)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// allPanels flattens the rows.
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

// dashboardVars are what Grafana puts in for the dashboard's variables: a value Prometheus
// takes in the same place.
var dashboardVars = map[string]string{"__rate_interval": "1m", "__range": "1h", "__interval": "1m", "instance": ".*"}

// expandVars replaces the dashboard's variables in expr as Grafana would.
func expandVars(t *testing.T, expr string) string {
	t.Helper()
	return promqlVars.ReplaceAllStringFunc(expr, func(v string) string {
		name := strings.Trim(v, "${}")
		val, ok := dashboardVars[name]
		if !ok {
			t.Errorf("expression %q uses the variable %s, which the test does not know", expr, v)
		}
		return val
	})
}

func TestDashboard(t *testing.T) {
	d := loadDashboard(t)
	known := knownMetrics(t)
	if d.UID == "" || d.Title == "" {
		t.Errorf("dashboard uid %q, title %q: want both", d.UID, d.Title)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	if vars["datasource"] != "datasource" {
		t.Errorf("the dashboard has no datasource variable: %v", vars)
	}
	used := map[string]bool{}
	ids := map[int]string{}
	var rules bytes.Buffer
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	panels := allPanels(d.Panels)
	for i, p := range panels {
		if other, dup := ids[p.ID]; dup {
			t.Errorf("panels %q and %q share id %d", other, p.Title, p.ID)
		}
		ids[p.ID] = p.Title
		if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: gridPos %+v outside the 24-column grid", p.Title, p.GridPos)
		}
		for _, q := range panels[:i] {
			a, b := p.GridPos, q.GridPos
			if a.X < b.X+b.W && b.X < a.X+a.W && a.Y < b.Y+b.H && b.Y < a.Y+a.H {
				t.Errorf("panels %q and %q overlap: %+v, %+v", p.Title, q.Title, a, b)
			}
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: data source %+v, want the ${datasource} variable", p.Title, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			where := fmt.Sprintf("panel %q query %s", p.Title, tg.RefID)
			if tg.Datasource == nil || tg.Datasource.UID != "${datasource}" {
				t.Errorf("%s: data source %+v, want the ${datasource} variable", where, tg.Datasource)
			}
			for _, n := range checkSeriesNames(t, where, tg.Expr, known) {
				used[n] = true
			}
			// Each query becomes a recording rule, so that promtool parses it as PromQL.
			fmt.Fprintf(&rules, "      - record: dashboard:%d:%s\n        expr: %q\n", p.ID, tg.RefID, expandVars(t, tg.Expr))
		}
	}
	// What the dashboard is for: the panels an operator looks at first.
	for _, n := range []string{
		"eventworker_events_received_total", "eventworker_handler_duration_seconds_bucket",
		"eventworker_event_lag_seconds_bucket", "eventworker_handler_outcomes_total",
		"eventworker_dead_letters_total", "eventworker_emails_sent_total", "eventworker_emails_failed_total",
		"eventworker_emails_suppressed_total", "eventworker_cache_hits_total", "eventworker_cache_misses_total",
		"eventworker_ready", "up", "eventworker_queue_messages", "eventworker_queue_consumers",
		"eventworker_oldest_in_flight_seconds",
	} {
		if !used[n] {
			t.Errorf("no panel of the dashboard shows %s", n)
		}
	}
	path := filepath.Join(t.TempDir(), "dashboard-rules.yml")
	if err := os.WriteFile(path, rules.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	runPromtool(t, "check", "rules", path)
}

func TestGrafanaProvisioning(t *testing.T) {
	ds := yamlFile(t, datasourcesFile)
	sources := list(ds, "datasources")
	if len(sources) != 1 || str(sources[0], "type") != "prometheus" || str(sources[0], "url") != "http://prometheus:9090" {
		t.Errorf("%s: want one prometheus data source at http://prometheus:9090 (the compose service), got %v", datasourcesFile, sources)
	}
	if get(sources, 0, "isDefault") != true {
		t.Errorf("%s: the data source is not the default, which the dashboard's datasource variable picks", datasourcesFile)
	}
	prov := yamlFile(t, dashProviderFile)
	providers := list(prov, "providers")
	if len(providers) != 1 || str(providers[0], "type") != "file" {
		t.Fatalf("%s: want one file provider, got %v", dashProviderFile, providers)
	}
	// compose.yaml mounts the dashboard into the provider's directory.
	dir := str(providers[0], "options", "path")
	var mounted bool
	for _, v := range list(yamlFile(t, composeFile), "services", "grafana", "volumes") {
		src, dst, _ := strings.Cut(strings.TrimSuffix(v.(string), ":ro"), ":")
		if filepath.Clean(src) == filepath.Join(".", "deploy", dashboardFile) && filepath.Dir(dst) == dir {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("compose.yaml does not mount %s into the provider's directory %s", dashboardFile, dir)
	}
}

// settingNames returns every environment variable the worker's configuration reads: each
// setting's EVENTWORKER_* name and, for secrets, its *_FILE.
func settingNames(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	if _, err := config.Load(func(k string) string { names[k] = true; return "" }, nil); err != nil {
		t.Fatal(err)
	}
	if !names["EVENTWORKER_AMQP_URL"] || !names["EVENTWORKER_AMQP_URL_FILE"] {
		t.Fatalf("config.Load read %v: the way this test learns the settings' names no longer works", slices.Sorted(maps.Keys(names)))
	}
	return names
}

// checkSettings fails the test for every EVENTWORKER_* variable in env that is not a setting,
// and loads the configuration from env (with files for *_FILE) to check its values.
func checkSettings(t *testing.T, where string, env map[string]string) *config.Config {
	t.Helper()
	names := settingNames(t)
	for _, k := range slices.Sorted(maps.Keys(env)) {
		if strings.HasPrefix(k, "EVENTWORKER_") && !names[k] {
			t.Errorf("%s: %s is not a setting of the worker", where, k)
		}
	}
	cfg, err := config.Load(func(k string) string { return env[k] }, nil)
	if err != nil {
		t.Errorf("%s: the worker would not start with this environment: %v", where, err)
		return config.Default()
	}
	return cfg
}
