package config

import (
	"strings"
	"testing"
)

func TestDebugAddr(t *testing.T) {
	tests := []struct {
		name      string
		http      string
		debug     string
		wantError string // empty: valid
	}{
		{"off by default", "", "", ""},
		{"loopback, a port of its own", ":9090", "127.0.0.1:6060", ""},
		{"any free port", ":9090", "127.0.0.1:0", ""},
		{"the metrics address", ":9090", ":9090", "EVENTWORKER_DEBUG_ADDR: :9090 is on the port of EVENTWORKER_HTTP_ADDR (:9090)"},
		{"the metrics port on another host part", "0.0.0.0:9090", "127.0.0.1:9090", "give the debug listener a port of its own"},
		{"the metrics port written with a leading zero", "127.0.0.1:19090", "127.0.0.1:019090", "give the debug listener a port of its own"},
		{"no port", ":9090", "127.0.0.1", `EVENTWORKER_DEBUG_ADDR: "127.0.0.1" is not host:port`},
		{"a port name", ":9090", "localhost:http", `"localhost:http" is not host:port`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{"EVENTWORKER_DEBUG_ADDR": tt.debug}
			if tt.http != "" {
				vars["EVENTWORKER_HTTP_ADDR"] = tt.http
			}
			c, err := Load(env(vars), nil)
			if tt.wantError == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if c.DebugAddr != tt.debug {
					t.Errorf("DebugAddr %q, want %q", c.DebugAddr, tt.debug)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantError) {
				t.Errorf("error %v, want one containing %q", err, tt.wantError)
			}
		})
	}
}

func TestRedactedHidesEveryPassword(t *testing.T) {
	c := Default()
	c.AMQPURL = "amqps://worker:amqpS3cret@rabbit:5671/vh"
	c.RedisURL = "redis+sentinel://:redisS3cret@s1:26379,s2:26379/mymaster?sentinel_password=sentinelS3cret&db=2"
	c.MailURL = "smtp://mailer:smtpS3cret@relay:587?starttls=required"
	c.DebugAddr = "127.0.0.1:6060"
	c.MailHeaders = "X-Api-Key=relayS3cret;Feedback-ID={template}:{tenant}:shop"
	got := c.Redacted()
	for name, want := range map[string]string{
		"EVENTWORKER_AMQP_URL":     "amqps://worker:xxxxx@rabbit:5671/vh",
		"EVENTWORKER_REDIS_URL":    "redis+sentinel://:xxxxx@s1:26379,s2:26379/mymaster?sentinel_password=xxxxx&db=2",
		"EVENTWORKER_MAIL_URL":     "smtp://mailer:xxxxx@relay:587?starttls=required",
		"EVENTWORKER_DEBUG_ADDR":   "127.0.0.1:6060",
		"EVENTWORKER_HTTP_ADDR":    ":9090",
		"EVENTWORKER_MAIL_HEADERS": "X-Api-Key=xxxxx;Feedback-ID=xxxxx",
	} {
		if got[name] != want {
			t.Errorf("%s = %q, want %q", name, got[name], want)
		}
	}
	for _, s := range settings {
		if _, ok := got[s.env]; !ok {
			t.Errorf("Redacted misses %s", s.env)
		}
	}
	for name, v := range got {
		if strings.Contains(v, "S3cret") {
			t.Errorf("%s shows a password: %s", name, v)
		}
	}
}
