package publisher

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the publisher light for producers: it must not pull in the worker's
// handlers, cache or config, nor their Redis and mail clients, nor Watermill (its adapter is
// publisher/watermillbus) or the registry's documentation generator (registry/docs).
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
	forbidden := []string{"go-redis", "go-mail", "/handlers", "/cache", "/config", "ThreeDotsLabs/watermill", "registry/docs", "eventworker/internal/"}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if strings.Contains(dep, f) {
				t.Errorf("publisher depends on %s (nothing matching %q may be imported)", dep, f)
			}
		}
	}
}
