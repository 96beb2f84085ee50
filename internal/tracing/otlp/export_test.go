package otlp

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/eventworker/eventworker/internal/otlptest"
)

// TestExportsOverBothProtocols: set up by the variables alone, the provider's spans reach a
// real receiver over OTLP/HTTP with protobuf and over gRPC, with the service's name and version.
func TestExportsOverBothProtocols(t *testing.T) {
	for _, protocol := range []string{"http/protobuf", "grpc"} {
		t.Run(protocol, func(t *testing.T) {
			rcv := otlptest.Start(t)
			if protocol == "grpc" {
				rcv = otlptest.StartGRPC(t)
			}
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.URL())
			t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
			t.Setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
			t.Setenv("OTEL_SERVICE_NAME", "")
			tr, err := FromEnv(context.Background(), os.Getenv, "v9.9.9")
			if err != nil {
				t.Fatal(err)
			}
			_, span := tr.Provider.Tracer("test").Start(context.Background(), "process q")
			span.End()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := tr.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			spans := rcv.WaitSpans(t, 5*time.Second, func(s []otlptest.Span) bool { return len(s) == 1 })
			s := spans[0]
			if s.Name != "process q" || s.Resource["service.name"] != DefaultServiceName || s.Resource["service.version"] != "v9.9.9" {
				t.Errorf("received %q with resource %v", s.Name, s.Resource)
			}
		})
	}
}
