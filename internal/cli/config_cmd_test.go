package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// mapEnv is an env whose environment is vars.
func mapEnv(vars map[string]string) (*env, *bytes.Buffer, *bytes.Buffer) {
	var stdout, stderr bytes.Buffer
	return &env{
		stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
		getenv: func(k string) string { return vars[k] },
		environ: func() []string {
			var out []string
			for k, v := range vars {
				out = append(out, k+"="+v)
			}
			return out
		},
	}, &stdout, &stderr
}

// TestConfigIsAFullPreflight: `eventworker config` finds, all at once and before anything
// connects, what `run` would otherwise find one at a time: a misspelt variable, a Redis URL
// its client refuses, and every problem of a mail URL.
func TestConfigIsAFullPreflight(t *testing.T) {
	e, stdout, stderr := mapEnv(map[string]string{
		"EVENTWORKER_CONCURENCY": "8",
		"EVENTWORKER_REDIS_URL":  "redis://localhost:6379/abc",
		"EVENTWORKER_MAIL_URL":   "smtp://relay:25?starttls=maybe&auth=cram&foo=bar",
	})
	code := run(context.Background(), e, []string{"config"})
	if code == exitOK || stdout.Len() > 0 {
		t.Fatalf("exit %d, stdout %q: want a failure and nothing printed", code, stdout.String())
	}
	for _, want := range []string{
		"EVENTWORKER_CONCURENCY is not a setting: did you mean EVENTWORKER_CONCURRENCY?",
		"EVENTWORKER_REDIS_URL:", "starttls", "maybe", "cram", "foo",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr does not mention %q:\n%s", want, stderr.String())
		}
	}
	e, _, stderr = mapEnv(map[string]string{"EVENTWORKER_MAIL_URL": "smtp:/relay:25"})
	if code := run(context.Background(), e, []string{"config"}); code == exitOK || !strings.Contains(stderr.String(), "EVENTWORKER_MAIL_URL") {
		t.Errorf("smtp:/relay:25: exit %d, stderr %q; want a failure naming EVENTWORKER_MAIL_URL", code, stderr.String())
	}
	e, stdout, stderr = mapEnv(map[string]string{"EVENTWORKER_CONCURRENCY": "8"})
	if code := run(context.Background(), e, []string{"config"}); code != exitOK || !strings.Contains(stdout.String(), "EVENTWORKER_CONCURRENCY=8") {
		t.Errorf("a valid configuration: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}

// TestConfigNamesTheWorkersProblemsBySetting: what the worker's own configuration refuses
// (worker.Config.Validate) is reported by `config` with the rest, each under the setting to
// change.
func TestConfigNamesTheWorkersProblemsBySetting(t *testing.T) {
	e, stdout, stderr := mapEnv(map[string]string{
		"EVENTWORKER_PREFETCH":             "8",
		"EVENTWORKER_CONSUMER_CONCURRENCY": "cache=12",
		"EVENTWORKER_HANDLER_TIMEOUT":      "30s",
		"EVENTWORKER_MAIL_TIMEOUT":         "10s",
		"EVENTWORKER_QUEUE_TYPE":           "stream",
		"EVENTWORKER_PAUSE_MAX":            "100ms",
	})
	code := run(context.Background(), e, []string{"config"})
	if code == exitOK || stdout.Len() > 0 {
		t.Fatalf("exit %d, stdout %q: want a failure and nothing printed", code, stdout.String())
	}
	for _, want := range []string{
		"EVENTWORKER_PREFETCH: 8 is below the concurrency 12",
		"EVENTWORKER_HANDLER_TIMEOUT: 30s must be shorter than EVENTWORKER_SHUTDOWN_TIMEOUT (25s)",
		"EVENTWORKER_QUEUE_TYPE: \"stream\" is neither quorum nor classic",
		"EVENTWORKER_PAUSE_MAX: 100ms is shorter than 1s",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr does not mention %q:\n%s", want, stderr.String())
		}
	}
}
