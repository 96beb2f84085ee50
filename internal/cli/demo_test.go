package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDemoCommand(t *testing.T) {
	noRegistryEnv(t)
	// The demo reads no EVENTWORKER_* variable: these would fail any connection.
	t.Setenv("EVENTWORKER_AMQP_URL", "amqp://guest:guest@127.0.0.1:1/")
	t.Setenv("EVENTWORKER_REDIS_URL", "redis://127.0.0.1:1/0")
	dir := t.TempDir()
	got := runCLI(t, nil, "demo", "--dir", dir, "--http-addr", "127.0.0.1:0")
	if got.code != 0 {
		t.Fatalf("exit status %d\nstdout:\n%s\nstderr:\n%s", got.code, got.stdout, got.stderr)
	}
	if got.stderr != "" {
		t.Errorf("stderr without --verbose: %q", got.stderr)
	}
	headings := []string{
		"eventworker demo: the worker's whole pipeline in this process",
		"== published:", "== notifications:", "== cache:", "== inventory:", "== tenants:",
		"== analytics:", "== dead letters: 2 ==", "== metrics:", "demo OK",
	}
	at := 0
	for _, h := range headings {
		i := strings.Index(got.stdout[at:], h)
		if i < 0 {
			t.Fatalf("stdout lacks %q (in order):\n%s", h, got.stdout)
		}
		at += i + len(h)
	}
	for _, want := range []string{"file://" + filepath.Join(dir, "outbox"), filepath.Join(dir, "worker.log")} {
		if !strings.Contains(got.stdout, want) {
			t.Errorf("the report does not name %s", want)
		}
	}
	if info, err := os.Stat(filepath.Join(dir, "worker.log")); err != nil || info.Size() == 0 {
		t.Errorf("worker.log: %v", err)
	}
}

func TestDemoCommandVerboseLogsToStderr(t *testing.T) {
	noRegistryEnv(t)
	got := runCLI(t, nil, "demo", "--verbose", "--dir", t.TempDir(), "--http-addr", "127.0.0.1:0")
	if got.code != 0 {
		t.Fatalf("exit status %d\nstderr:\n%.3000s", got.code, got.stderr)
	}
	if !strings.Contains(got.stderr, `"msg":"consuming"`) || !strings.Contains(got.stdout, "to the logger given") {
		t.Errorf("--verbose: worker logs not on stderr (%d bytes) or the report does not say so", len(got.stderr))
	}
	if got := runCLI(t, nil, "demo", "extra"); got.code != 2 || !strings.Contains(got.stderr, `unexpected argument "extra"`) {
		t.Errorf("demo with an argument: exit %d, stderr %q", got.code, got.stderr)
	}
}
