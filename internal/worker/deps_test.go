package worker_test

import (
	"testing"

	"github.com/eventworker/eventworker/internal/testenv"
)

// TestDependencies keeps the worker generic: it owns the handler contract (handling) and the
// store interfaces (dedupe), and compiles without the concrete handlers, their mail, template
// and Redis-store packages, or the environment's configuration.
func TestDependencies(t *testing.T) {
	t.Parallel()
	testenv.ForbidDeps(t, "the worker",
		"go-redis", "go-mail", "template", "eventworker/handlers", "eventworker/cache", "eventworker/config",
		"internal/idempotency", "internal/emails", "internal/mailer", "internal/tenants", "internal/inventory",
		"internal/analytics", "internal/localtransport", "watermill/pubsub/gochannel")
}
