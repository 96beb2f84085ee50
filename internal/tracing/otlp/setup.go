package otlp

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// DefaultServiceName is service.name unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES
// names another.
const DefaultServiceName = "eventworker"

// ErrConfig marks a problem with the OTEL_* variables.
var ErrConfig = errors.New("invalid OpenTelemetry configuration")

// Tracing is the process's tracer provider: the SDK's when tracing is on, a no-op one when off.
type Tracing struct {
	// Provider makes the worker's tracers; never nil.
	Provider trace.TracerProvider
	// Enabled is true when spans are exported.
	Enabled bool
	// Endpoint and Protocol say where spans go, for the start-up log line (a password in the
	// URL redacted); empty when off.
	Endpoint, Protocol string

	sdk *sdktrace.TracerProvider
}

// Off is tracing switched off.
func Off() *Tracing { return &Tracing{Provider: noop.NewTracerProvider()} }

// FromEnv sets tracing up as the OTEL_* variables say, read with getenv. It is on when
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT is set, unless
// OTEL_SDK_DISABLED is true or OTEL_TRACES_EXPORTER is none. Then spans are exported over OTLP,
// with OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL http/protobuf (the default) or grpc; the exporters,
// the sampler (OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG; default parentbased_always_on) and
// the batch processor (OTEL_BSP_*) read the rest of their variables themselves, and the
// resource takes OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES. version becomes
// service.version. Nothing connects yet: an unreachable collector costs dropped spans and a
// logged error, never the worker. Shutdown flushes what is buffered.
func FromEnv(ctx context.Context, getenv func(string) string, version string) (*Tracing, error) {
	endpoint := first(getenv, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") || endpoint == "" {
		return Off(), nil
	}
	var problems []error
	switch exp := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); exp {
	case "none":
		return Off(), nil
	case "", "otlp":
	default:
		problems = append(problems, fmt.Errorf("%w: OTEL_TRACES_EXPORTER=%q: the worker exports spans over OTLP only; set it to otlp or none, or unset it", ErrConfig, exp))
	}
	protocol := first(getenv, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
	if protocol == "" {
		protocol = "http/protobuf"
	}
	if protocol != "http/protobuf" && protocol != "grpc" {
		problems = append(problems, fmt.Errorf("%w: OTEL_EXPORTER_OTLP_PROTOCOL=%q: use http/protobuf (port 4318) or grpc (port 4317)", ErrConfig, protocol))
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
		if err := checkEndpoint(strings.TrimSpace(getenv(name))); err != nil {
			problems = append(problems, fmt.Errorf("%w: %s: %w", ErrConfig, name, err))
		}
	}
	if err := checkSampler(strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER")), strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER_ARG"))); err != nil {
		problems = append(problems, fmt.Errorf("%w: %w", ErrConfig, err))
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	var client otlptrace.Client
	if protocol == "grpc" {
		client = otlptracegrpc.NewClient()
	} else {
		client = otlptracehttp.NewClient()
	}
	exporter, err := otlptrace.New(ctx, client)
	if err != nil {
		return nil, fmt.Errorf("%w: the OTLP trace exporter: %w", ErrConfig, err)
	}
	// Later detectors win: the variables override the defaults.
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(DefaultServiceName), semconv.ServiceVersion(version)),
		resource.WithTelemetrySDK(), resource.WithHost(), resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("%w: OTEL_RESOURCE_ATTRIBUTES or OTEL_SERVICE_NAME: %w (write key=value,key=value)", ErrConfig, err)
	}
	sdk := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	shown := endpoint
	if u, err := url.Parse(endpoint); err == nil {
		shown = u.Redacted()
	}
	return &Tracing{Provider: sdk, Enabled: true, Endpoint: shown, Protocol: protocol, sdk: sdk}, nil
}

// Shutdown exports the spans still buffered and stops the exporter; ctx bounds it. Off, it does
// nothing.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil || t.sdk == nil {
		return nil
	}
	if err := t.sdk.Shutdown(ctx); err != nil {
		return fmt.Errorf("flush the last spans: %w", err)
	}
	return nil
}

// first returns the first non-empty value of the variables names.
func first(getenv func(string) string, names ...string) string {
	for _, n := range names {
		if v := strings.TrimSpace(getenv(n)); v != "" {
			return v
		}
	}
	return ""
}

// checkEndpoint refuses an endpoint the exporters would not send to as written: they need an
// http or https URL with a host, and fall back silently otherwise. Empty is not set.
func checkEndpoint(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q: write an http:// or https:// URL with the collector's host and port, e.g. http://otel-collector:4318", raw)
	}
	return nil
}

// samplers are the values of OTEL_TRACES_SAMPLER that the SDK knows; those ending in
// traceidratio take OTEL_TRACES_SAMPLER_ARG, a probability.
var samplers = []string{"always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"}

// checkSampler refuses a sampler the SDK would replace by its default, which records every
// trace: a misspelt ratio sampler must not mean full sampling.
func checkSampler(name, arg string) error {
	if name == "" {
		return nil
	}
	if !slices.Contains(samplers, name) {
		return fmt.Errorf("OTEL_TRACES_SAMPLER=%q: use one of %s", name, strings.Join(samplers, ", "))
	}
	if strings.HasSuffix(name, "traceidratio") && arg != "" {
		if p, err := strconv.ParseFloat(arg, 64); err != nil || p < 0 || p > 1 {
			return fmt.Errorf("OTEL_TRACES_SAMPLER_ARG=%q: a probability from 0 to 1, e.g. 0.1", arg)
		}
	}
	return nil
}
