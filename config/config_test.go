package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaultsAreValid(t *testing.T) {
	c, err := Load(env(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":9090" || c.QueuePrefix != "eventworker" || c.QueueType != QueueQuorum ||
		c.ShutdownTimeout != 25*time.Second || c.IdempotencyTTL != 7*24*time.Hour || c.MaxBodyBytes != 1<<20 {
		t.Errorf("unexpected defaults: %+v", c)
	}
}

func TestEnvironmentFlagsAndFiles(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "amqp")
	if err := os.WriteFile(secret, []byte("amqp://u:s3cret@rabbit:5672/vh\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	RegisterFlags(fs)
	if err := fs.Parse([]string{"--queue-prefix", "fromflag", "--retry-quick", "0"}); err != nil {
		t.Fatal(err)
	}
	c, err := Load(env(map[string]string{
		"EVENTWORKER_AMQP_URL_FILE":        secret,
		"EVENTWORKER_QUEUE_PREFIX":         "fromenv",
		"EVENTWORKER_CONSUMER_CONCURRENCY": "notifications=2, cache=16",
		"EVENTWORKER_RETRY_DELAYS":         "5s,30s",
		"EVENTWORKER_QUEUE_TYPE":           "classic",
	}), fs)
	if err != nil {
		t.Fatal(err)
	}
	if c.AMQPURL != "amqp://u:s3cret@rabbit:5672/vh" {
		t.Errorf("AMQP URL from file: %q", c.AMQPURL)
	}
	if c.QueuePrefix != "fromflag" {
		t.Errorf("flag should override env: %q", c.QueuePrefix)
	}
	if c.QuickRetries != 0 {
		t.Errorf("an explicit 0 must not be replaced by the default: %d", c.QuickRetries)
	}
	if c.ConsumerConcurrency["cache"] != 16 || c.ConsumerConcurrency["notifications"] != 2 || len(c.ConsumerConcurrency) != 2 {
		t.Errorf("concurrency: %+v", c.ConsumerConcurrency)
	}
	if len(c.RetryDelays) != 2 || c.RetryDelays[1] != 30*time.Second || c.QueueType != QueueClassic {
		t.Errorf("retry delays %v, queue type %s", c.RetryDelays, c.QueueType)
	}
	var out bytes.Buffer
	if err := c.Print(&out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "s3cret") || !strings.Contains(out.String(), "EVENTWORKER_AMQP_URL=amqp://u:xxxxx@rabbit:5672/vh") {
		t.Errorf("Print must redact passwords:\n%s", out.String())
	}
}

func TestEveryProblemAtOnce(t *testing.T) {
	_, err := Load(env(map[string]string{
		"EVENTWORKER_AMQP_URL":               "amqp://x:pw@host/,http://x:pw@host2/",
		"EVENTWORKER_REDIS_URL":              "nonsense",
		"EVENTWORKER_QUEUE_TYPE":             "stream",
		"EVENTWORKER_LOG_LEVEL":              "loud",
		"EVENTWORKER_CONCURRENCY":            "many",
		"EVENTWORKER_PREFETCH":               "0",
		"EVENTWORKER_LEASE_TTL":              "1s",
		"EVENTWORKER_RETRY_DELAYS":           "10ms",
		"EVENTWORKER_REDIS_URL_FILE":         "/nonexistent/secret",
		"EVENTWORKER_AMQP_CA_FILE":           "/etc/ca.pem",
		"EVENTWORKER_PLATFORM_SUPPORT_EMAIL": "Support <support@platform.example>",
	}), nil)
	if err == nil {
		t.Fatal("invalid configuration accepted")
	}
	msg := err.Error()
	for _, want := range []string{
		`EVENTWORKER_AMQP_URL: invalid AMQP URL list: element 2 "http://x:xxxxx@host2/": not an amqp:// or amqps:// URL`, "EVENTWORKER_REDIS_URL and EVENTWORKER_REDIS_URL_FILE are both set",
		"EVENTWORKER_LOG_LEVEL", "EVENTWORKER_CONCURRENCY: \"many\"",
		"EVENTWORKER_LEASE_TTL", "EVENTWORKER_RETRY_DELAYS: 10ms",
		"EVENTWORKER_AMQP_CA_FILE is set but node 1 of EVENTWORKER_AMQP_URL (host:5672) uses amqp://",
		"EVENTWORKER_PLATFORM_SUPPORT_EMAIL: \"Support <support@platform.example>\" is not a bare address",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not mention %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "pw@") {
		t.Errorf("error leaks a password:\n%s", msg)
	}
}

func TestMarkdownTableListsEverySetting(t *testing.T) {
	var b bytes.Buffer
	if err := MarkdownTable(&b); err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		if !strings.Contains(b.String(), "`"+s.env+"`") {
			t.Errorf("table misses %s", s.env)
		}
	}
}

func TestBacklogInterval(t *testing.T) {
	tests := []struct {
		value   string
		want    time.Duration
		printed string
		problem string
	}{
		{"", 15 * time.Second, "15s", ""},
		{"0", 0, "0s", ""},
		{"1m", time.Minute, "1m0s", ""},
		{"500ms", 0, "", "EVENTWORKER_BACKLOG_INTERVAL: 500ms must be 0 (off) or at least 1s"},
		{"-1s", 0, "", "EVENTWORKER_BACKLOG_INTERVAL: -1s must be 0 (off) or at least 1s"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			c, err := Load(env(map[string]string{"EVENTWORKER_BACKLOG_INTERVAL": tt.value}), nil)
			if tt.problem != "" {
				if err == nil || !strings.Contains(err.Error(), tt.problem) {
					t.Fatalf("error %v, want %q", err, tt.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.BacklogInterval != tt.want {
				t.Errorf("BacklogInterval = %s, want %s", c.BacklogInterval, tt.want)
			}
			var out bytes.Buffer
			if err := c.Print(&out); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "EVENTWORKER_BACKLOG_INTERVAL="+tt.printed+"\n") {
				t.Errorf("config prints no EVENTWORKER_BACKLOG_INTERVAL=%s:\n%s", tt.printed, out.String())
			}
		})
	}
}

// TestAMQPURLList reads a list of node URLs: a list of good URLs is taken as it is and printed
// with every password masked; every bad element is reported, by its position.
func TestAMQPURLList(t *testing.T) {
	tests := []struct {
		name, url, caFile string
		wantErr           []string
	}{
		{name: "one URL", url: "amqp://u:s3cret@rabbit:5672/vh"},
		{name: "three nodes", url: "amqp://u:s3cret@r1:5672/vh,amqp://u:s3cret@r2:5672/vh,amqp://u:s3cret@r3:5672/vh"},
		{name: "amqps with a CA file", url: "amqps://u:s3cret@r1/vh,amqps://u:s3cret@r2/vh", caFile: "/etc/ca.pem"},
		{name: "every bad element", url: "amqp://u:s3cret@r1/vh,,amqp://u:s3cret@r3/other,amqp://u:s3cret@r1/vh",
			wantErr: []string{
				"EVENTWORKER_AMQP_URL: invalid AMQP URL list: element 2: empty",
				`EVENTWORKER_AMQP_URL: invalid AMQP URL list: element 3 "amqp://u:xxxxx@r3/other": vhost "other" differs from "vh" of the first`,
				`EVENTWORKER_AMQP_URL: invalid AMQP URL list: element 4 "amqp://u:xxxxx@r1/vh": node r1:5672 is element 1 already`,
			}},
		{name: "a CA file and a node without TLS", url: "amqps://u:s3cret@r1/vh,amqp://u:s3cret@r2/vh", caFile: "/etc/ca.pem",
			wantErr: []string{"EVENTWORKER_AMQP_CA_FILE is set but node 2 of EVENTWORKER_AMQP_URL (r2:5672) uses amqp://"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(env(map[string]string{"EVENTWORKER_AMQP_URL": tc.url, "EVENTWORKER_AMQP_CA_FILE": tc.caFile}), nil)
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatal("accepted")
				}
				for _, want := range tc.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error lacks %q:\n%v", want, err)
					}
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Errorf("error shows a password:\n%v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.AMQPURL != tc.url {
				t.Errorf("AMQPURL = %q, want %q", c.AMQPURL, tc.url)
			}
			shown := c.Redacted()["EVENTWORKER_AMQP_URL"]
			if strings.Contains(shown, "s3cret") || strings.Count(shown, "xxxxx") != strings.Count(tc.url, "s3cret") {
				t.Errorf("shown as %q", shown)
			}
		})
	}
}
