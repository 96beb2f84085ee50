package outbox

import (
	"testing"

	"github.com/eventworker/eventworker/internal/testenv"
)

// TestDependencies keeps the outbox light for producers: no worker, handlers, cache or config,
// nor their Redis and mail clients, nor Watermill.
func TestDependencies(t *testing.T) {
	t.Parallel()
	testenv.ForbidDeps(t, "publisher/outbox",
		"go-redis", "go-mail", "/handlers", "/cache", "/config", "ThreeDotsLabs/watermill", "registry/docs",
		"eventworker/internal/", "go.opentelemetry.io/otel/sdk", "otlp", "google.golang.org/grpc")
}
