package otlp

import (
	"context"
	"net"
	"os"
	"strings"
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

// TestCollectorThatNeverAnswersBlocksNothing: spans to a collector that accepts connections
// and never answers never hold the traced code up: ending 10,000 spans does not wait for the
// export (the batch processor drops what its queue cannot hold), and Shutdown gives up when its
// context ends.
func TestCollectorThatNeverAnswersBlocksNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+ln.Addr().String())
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "10")
	tr, err := FromEnv(context.Background(), os.Getenv, "v1")
	if err != nil {
		t.Fatal(err)
	}
	tracer := tr.Provider.Tracer("test")
	// Liveness, not speed: were ending a span to wait for the export, the loop would never end.
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		for range 10_000 {
			_, span := tracer.Start(context.Background(), "process q")
			span.End()
		}
	}()
	select {
	case <-ended:
	case <-time.After(30 * time.Second):
		t.Fatal("ending spans waits for a collector that never answers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- tr.Shutdown(ctx) }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Shutdown reports no error although no span was exported")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Shutdown does not end with its context")
	}
}

// TestBadResourceAttributesAreRefused: OTEL_RESOURCE_ATTRIBUTES that the SDK cannot read stop
// the start instead of going unnoticed. The SDK reads the variable itself, hence Setenv.
func TestBadResourceAttributesAreRefused(t *testing.T) {
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "garbage")
	_, err := FromEnv(context.Background(), func(k string) string {
		if k == "OTEL_EXPORTER_OTLP_ENDPOINT" {
			return "http://c:4318"
		}
		return os.Getenv(k)
	}, "v1")
	if err == nil || !strings.Contains(err.Error(), "OTEL_RESOURCE_ATTRIBUTES") {
		t.Errorf("error %v, want one naming OTEL_RESOURCE_ATTRIBUTES", err)
	}
}
