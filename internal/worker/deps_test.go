package worker_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the worker generic: it owns the handler contract (handling) and the
// store interfaces (dedupe), and compiles without the concrete handlers, their mail, template
// and Redis-store packages, or the environment's configuration.
func TestDependencies(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH to list dependencies with")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	forbidden := []string{
		"go-redis", "go-mail", "template", "eventworker/handlers", "eventworker/cache", "eventworker/config",
		"internal/idempotency", "internal/emails", "internal/mailer", "internal/tenants", "internal/inventory",
		"internal/analytics", "internal/localtransport", "watermill/pubsub/gochannel",
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if strings.Contains(dep, f) {
				t.Errorf("the worker depends on %s (nothing matching %q may be imported)", dep, f)
			}
		}
	}
}
