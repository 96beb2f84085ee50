package testenv

import (
	"os/exec"
	"strings"
	"testing"
)

// ForbidDeps fails t for every package that `go list -deps .` (the package under test, without
// its tests) names and that contains one of forbidden; what names the package in the message.
func ForbidDeps(t *testing.T, what string, forbidden ...string) {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH to list dependencies with")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if strings.Contains(dep, f) {
				t.Errorf("%s depends on %s (nothing matching %q may be imported)", what, dep, f)
			}
		}
	}
}
