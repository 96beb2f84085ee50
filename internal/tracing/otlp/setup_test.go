package otlp

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestFromEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		env      map[string]string
		enabled  bool
		protocol string
		errs     []string // each must appear in the error
	}{
		{name: "nothing set: off", env: map[string]string{}},
		{name: "endpoint: on, http/protobuf", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, enabled: true, protocol: "http/protobuf"},
		{name: "traces endpoint only: on", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, enabled: true, protocol: "http/protobuf"},
		{name: "grpc", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, enabled: true, protocol: "grpc"},
		{name: "traces protocol wins", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"}, enabled: true, protocol: "grpc"},
		{name: "SDK disabled", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}},
		{name: "exporter none", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}},
		{name: "http/json and zipkin refused together", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_TRACES_EXPORTER": "zipkin"},
			errs: []string{`OTEL_EXPORTER_OTLP_PROTOCOL="http/json": use http/protobuf`, `OTEL_TRACES_EXPORTER="zipkin"`}},
		{name: "endpoint without a scheme", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "localhost:4318"},
			errs: []string{`OTEL_EXPORTER_OTLP_ENDPOINT: "localhost:4318": write an http:// or https:// URL`}},
		{name: "endpoint not a URL", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://[bad"},
			errs: []string{`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://[bad" is not a URL`}},
		{name: "ftp endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "ftp://c:4318"}, errs: []string{"http:// or https://"}},
		{name: "misspelt sampler", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_SAMPLER": "traceidratoi"},
			errs: []string{`OTEL_TRACES_SAMPLER="traceidratoi": use one of always_on`}},
		{name: "ratio out of range", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "10"},
			errs: []string{`OTEL_TRACES_SAMPLER_ARG="10": a probability`}},
		{name: "ratio sampler", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://c:4318", "OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"}, enabled: true, protocol: "http/protobuf"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr, err := FromEnv(context.Background(), func(k string) string { return tc.env[k] }, "v1.2.3")
			if len(tc.errs) > 0 {
				if !errors.Is(err, ErrConfig) {
					t.Fatalf("error %v, want ErrConfig", err)
				}
				for _, want := range tc.errs {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not say %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Shutdown(context.Background())
			if tr.Enabled != tc.enabled || tr.Protocol != tc.protocol || tr.Provider == nil {
				t.Errorf("enabled %v protocol %q provider %v; want %v %q", tr.Enabled, tr.Protocol, tr.Provider, tc.enabled, tc.protocol)
			}
		})
	}
}
