package deploy_test

import (
	"cmp"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The trace backend of the local stack and what points at it.
const (
	traceService   = "jaeger"
	traceImage     = "jaegertracing/jaeger"
	datasourcesDir = "grafana/provisioning/datasources"
	// exemplarLabel is the exemplar label that holds the trace id on the worker's histograms.
	exemplarLabel = "trace_id"
)

// The ports of Jaeger v2's all-in-one configuration.
const (
	otlpGRPCPort = "4317"
	otlpHTTPPort = "4318"
	jaegerUIPort = "16686"
)

// pinnedTag matches an image tag that names one release (2.8.0), not a moving one (latest, 2).
var pinnedTag = regexp.MustCompile(`^v?\d+\.\d+\.\d+$`)

// provisionedDatasources returns every data source of Grafana's provisioning directory, with the
// file each comes from.
func provisionedDatasources(t *testing.T) map[string][]any {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(datasourcesDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no data source files in %s: %v", datasourcesDir, err)
	}
	out := map[string][]any{}
	for _, f := range files {
		out[f] = list(yamlFile(t, f), "datasources")
	}
	return out
}

func TestComposeTraceBackend(t *testing.T) {
	services, _ := get(yamlFile(t, composeFile), "services").(map[string]any)
	tr := services[traceService]
	if tr == nil {
		t.Fatalf("compose.yaml has no service %s (the trace backend)", traceService)
	}
	img, tag, _ := strings.Cut(str(tr, "image"), ":")
	if img != traceImage || !pinnedTag.MatchString(tag) {
		t.Errorf("service %s: image %q, want %s:X.Y.Z (a pinned Jaeger v2 release)", traceService, str(tr, "image"), traceImage)
	}
	for _, p := range []string{otlpGRPCPort, otlpHTTPPort, jaegerUIPort} {
		if !slices.Contains(containerPorts(tr), p) {
			t.Errorf("service %s does not publish port %s", traceService, p)
		}
	}
	for _, p := range list(tr, "ports") {
		if !strings.HasPrefix(fmt.Sprint(p), "127.0.0.1:") {
			t.Errorf("service %s publishes %v on every interface, want 127.0.0.1 as the other services", traceService, p)
		}
	}
	if get(tr, "healthcheck", "test") == nil {
		t.Errorf("service %s has no healthcheck", traceService)
	}

	// The worker exports to the backend's OTLP port for its protocol, under the default name.
	w := services["eventworker"]
	env := composeEnv(t, w)
	proto := env["OTEL_EXPORTER_OTLP_PROTOCOL"]
	wantPort := map[string]string{"": otlpHTTPPort, "http/protobuf": otlpHTTPPort, "grpc": otlpGRPCPort}[proto]
	if wantPort == "" {
		t.Fatalf("OTEL_EXPORTER_OTLP_PROTOCOL=%q, want http/protobuf or grpc", proto)
	}
	u, err := url.Parse(env["OTEL_EXPORTER_OTLP_ENDPOINT"])
	if err != nil || u.Scheme != "http" || u.Host != net.JoinHostPort(traceService, wantPort) {
		t.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT=%q, want http://%s (OTLP %s of service %s)",
			env["OTEL_EXPORTER_OTLP_ENDPOINT"], net.JoinHostPort(traceService, wantPort), cmp.Or(proto, "http/protobuf"), traceService)
	}
	if env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] != "" {
		t.Errorf("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set and overrides OTEL_EXPORTER_OTLP_ENDPOINT; set one")
	}
	if env["OTEL_SERVICE_NAME"] != "eventworker" {
		t.Errorf("OTEL_SERVICE_NAME=%q, want eventworker (the name the README searches traces by)", env["OTEL_SERVICE_NAME"])
	}
	deps, _ := get(w, "depends_on").(map[string]any)
	if _, ok := deps[traceService]; !ok {
		t.Errorf("the worker does not depend on %s", traceService)
	}

	// Prometheus keeps the exemplars the worker's histograms carry.
	var exemplars bool
	for _, arg := range list(services["prometheus"], "command") {
		if flags, ok := strings.CutPrefix(fmt.Sprint(arg), "--enable-feature="); ok && slices.Contains(strings.Split(flags, ","), "exemplar-storage") {
			exemplars = true
		}
	}
	if !exemplars {
		t.Errorf("prometheus command %v: want --enable-feature=exemplar-storage, or exemplars are dropped at scrape", get(services["prometheus"], "command"))
	}
}

func TestGrafanaTraceDatasource(t *testing.T) {
	byUID := map[string]any{}
	var traces []any
	for file, sources := range provisionedDatasources(t) {
		for _, ds := range sources {
			uid := str(ds, "uid")
			if uid == "" {
				t.Errorf("%s: data source %q has no uid, which links need", file, str(ds, "name"))
				continue
			}
			if byUID[uid] != nil {
				t.Errorf("%s: data source uid %q is used twice", file, uid)
			}
			byUID[uid] = ds
			if str(ds, "type") == "jaeger" {
				traces = append(traces, ds)
			}
		}
	}
	want := "http://" + net.JoinHostPort(traceService, jaegerUIPort)
	if len(traces) != 1 || str(traces[0], "url") != want {
		t.Fatalf("want one jaeger data source at %s (the compose service's query API), got %v", want, traces)
	}

	// The Prometheus data source links the worker's exemplars to that data source.
	var prom any
	for _, ds := range byUID {
		if str(ds, "type") == "prometheus" {
			prom = ds
		}
	}
	dests := list(prom, "jsonData", "exemplarTraceIdDestinations")
	if len(dests) != 1 {
		t.Fatalf("the Prometheus data source has exemplarTraceIdDestinations %v, want one, to the trace data source", dests)
	}
	if name := str(dests[0], "name"); name != exemplarLabel {
		t.Errorf("exemplarTraceIdDestinations names label %q, want %s (the worker's exemplar label)", name, exemplarLabel)
	}
	uid := str(dests[0], "datasourceUid")
	if ds := byUID[uid]; ds == nil || str(ds, "type") != "jaeger" {
		t.Errorf("exemplars link to data source uid %q, which is no provisioned jaeger data source", uid)
	}
}
