// Package otlptest runs a real OTLP/HTTP trace receiver inside a test process: it accepts the
// protobuf exports of an OpenTelemetry SDK on /v1/traces, decodes them with the OpenTelemetry
// proto module and keeps every span with its resource and scope, for end-to-end tests of
// tracing. Only tests import it.
//
//	rcv := otlptest.Start(t)
//	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.URL())
//	... run the traced code ...
//	spans := rcv.WaitSpans(t, 30*time.Second, func(s []otlptest.Span) bool { return len(s) >= 3 })
package otlptest
