package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUnknownVariablesAreRefused(t *testing.T) {
	for _, tc := range []struct {
		environ []string
		want    string // "" for no error
	}{
		{[]string{"EVENTWORKER_AMPQ_URL=amqp://x"}, "EVENTWORKER_AMPQ_URL is not a setting: did you mean EVENTWORKER_AMQP_URL?"},
		{[]string{"EVENTWORKER_CONCURENCY=8"}, "EVENTWORKER_CONCURENCY is not a setting: did you mean EVENTWORKER_CONCURRENCY?"},
		{[]string{"EVENTWORKER_REDIS_URL_FIEL=/run/secret"}, "did you mean EVENTWORKER_REDIS_URL_FILE?"},
		{[]string{"EVENTWORKER_SOMETHING_ELSE_ENTIRELY=1"}, "EVENTWORKER_SOMETHING_ELSE_ENTIRELY is not a setting (every setting"},
		{[]string{"EVENTWORKER_CONCURRENCY=8", "EVENTWORKER_TEST_AMQP_URL=amqp://x", "PATH=/bin", "EVENTWORKER_AMQP_URL_FILE=" + writeSecret(t, "amqp://u:p@h/")}, ""},
	} {
		m := map[string]string{}
		for _, kv := range tc.environ {
			k, v, _ := strings.Cut(kv, "=")
			m[k] = v
		}
		_, err := Load(env(m), nil, RefuseUnknown(tc.environ))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v", tc.environ, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: error %v, want one containing %q", tc.environ, err, tc.want)
		}
	}
	// Without the option, as for callers that build their environment themselves, nothing is
	// checked.
	if _, err := Load(env(map[string]string{"EVENTWORKER_CONCURENCY": "8"}), nil); err != nil {
		t.Errorf("Load without RefuseUnknown: %v", err)
	}
}

func writeSecret(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEmptySecretFileIsRefused(t *testing.T) {
	path := writeSecret(t, " \n")
	_, err := Load(env(map[string]string{"EVENTWORKER_REDIS_URL_FILE": path}), nil)
	if err == nil || !strings.Contains(err.Error(), "EVENTWORKER_REDIS_URL_FILE: "+path+" is empty") {
		t.Errorf("Load with an empty secret file = %v, want an error naming it", err)
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"AMPQ", "AMQP", 1}, {"CONCURENCY", "CONCURRENCY", 1}, {"", "ABC", 3}, {"SAME", "SAME", 0}, {"KITTEN", "SITTING", 3}} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestTimeoutsMustNest(t *testing.T) {
	for _, tc := range []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{"EVENTWORKER_MAIL_TIMEOUT": "21s"}, "EVENTWORKER_MAIL_TIMEOUT: 21s must be at most EVENTWORKER_HANDLER_TIMEOUT (20s)"},
		{map[string]string{"EVENTWORKER_SHUTDOWN_TIMEOUT": "10s", "EVENTWORKER_HANDLER_TIMEOUT": "8s", "EVENTWORKER_MAIL_TIMEOUT": "8s"}, ""},
	} {
		_, err := Load(env(tc.vars), nil)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v", tc.vars, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: %v, want %q", tc.vars, err, tc.want)
		}
	}
}
