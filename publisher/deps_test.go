package publisher

import (
	"testing"

	"github.com/eventworker/eventworker/internal/testenv"
)

// TestDependencies keeps the publisher light for producers: it must not pull in the worker's
// handlers, cache or config, nor their Redis and mail clients, nor Watermill (its adapter is
// publisher/watermillbus) or the registry's documentation generator (registry/docs), nor
// OpenTelemetry's SDK and exporters: the producer chooses those, the publisher uses the API.
// Nor the outbox (publisher/outbox) and its PostgreSQL driver: a producer without one compiles neither.
func TestDependencies(t *testing.T) {
	t.Parallel()
	testenv.ForbidDeps(t, "publisher",
		"go-redis", "go-mail", "/handlers", "/cache", "/config", "ThreeDotsLabs/watermill", "registry/docs", "eventworker/internal/",
		"go.opentelemetry.io/otel/sdk", "otlp", "google.golang.org/grpc", "go-logr", "otel/metric",
		"publisher/outbox", "jackc/pgx")
}
