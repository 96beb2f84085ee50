package mailer

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		url  string
		want endpoint
	}{
		{"smtp://mail.example.com", endpoint{scheme: "smtp", host: "mail.example.com", port: 587, startTLS: "required", auth: "none"}},
		{"SMTP://mail.example.com:2525?starttls=opportunistic", endpoint{scheme: "smtp", host: "mail.example.com", port: 2525, startTLS: "opportunistic", auth: "none"}},
		{"smtp://relay:25?starttls=none", endpoint{scheme: "smtp", host: "relay", port: 25, startTLS: "none", auth: "none"}},
		{"smtp://user:pass@mail.example.com", endpoint{scheme: "smtp", host: "mail.example.com", port: 587, startTLS: "required", user: "user", password: "pass", hasUser: true, auth: "auto"}},
		{
			"smtp://apikey%40shop.example:p%40ss%3Aw%2Frd%25%23%3F@mail.example.com:587/?auth=login&ca_file=%2Fetc%2Fssl%2Fca.pem&helo=worker.shop.example",
			endpoint{scheme: "smtp", host: "mail.example.com", port: 587, startTLS: "required", user: "apikey@shop.example", password: "p@ss:w/rd%#?", hasUser: true, auth: "login", caFile: "/etc/ssl/ca.pem", helo: "worker.shop.example"},
		},
		{"smtp://u@[::1]:1025?auth=plain&insecure_skip_verify=true", endpoint{scheme: "smtp", host: "::1", port: 1025, startTLS: "required", user: "u", hasUser: true, auth: "plain", insecureSkipVerify: true}},
		{"smtps://user:pass@mail.example.com", endpoint{scheme: "smtps", host: "mail.example.com", port: 465, startTLS: "none", user: "user", password: "pass", hasUser: true, auth: "auto"}},
		{"smtps://mail.example.com:4650?ca_file=ca.pem&insecure_skip_verify=false", endpoint{scheme: "smtps", host: "mail.example.com", port: 4650, startTLS: "none", auth: "none", caFile: "ca.pem"}},
		{"file:///var/mail/out", endpoint{scheme: "file", dir: "/var/mail/out"}},
		{"file://./out", endpoint{scheme: "file", dir: "./out"}},
		{"file://out/sub", endpoint{scheme: "file", dir: "out/sub"}},
		{"file://localhost/var/mail", endpoint{scheme: "file", dir: "/var/mail"}},
		{"file:out", endpoint{scheme: "file", dir: "out"}},
		{"file:///var/mail/with%20space", endpoint{scheme: "file", dir: "/var/mail/with space"}},
		{"log://", endpoint{scheme: "log"}},
		{"log:", endpoint{scheme: "log"}},
	}
	for _, tt := range tests {
		got, err := parseURL(tt.url)
		if err != nil {
			t.Errorf("parseURL(%q): %v", tt.url, err)
			continue
		}
		if *got != tt.want {
			t.Errorf("parseURL(%q) =\n %+v, want\n %+v", tt.url, *got, tt.want)
		}
	}
}

func TestParseURLErrors(t *testing.T) {
	const secret = "Sup3rS3cret"
	tests := []struct {
		url  string
		want []string // substrings of the error, in any order
	}{
		{"", []string{"mail URL is empty", "smtp://", "smtps://", "file://DIR", "log://"}},
		{"smtpx://host", []string{`mail URL scheme "smtpx" is not supported: use smtp://, smtps://, file://DIR or log://`}},
		{"mail.example.com:587", []string{"not supported"}},
		{"mail.example.com", []string{"mail URL has no scheme"}},
		{"smtp://", []string{"mail URL smtp:// has no host: use smtp://user:pass@host:587"}},
		{"smtps://u:" + secret + "@:465", []string{"mail URL smtps:// has no host"}},
		{"smtp:mail.example.com", []string{"has no host"}},
		{"smtp://host:0", []string{`port "0" is not a number from 1 to 65535`}},
		{"smtp://host:99999", []string{`port "99999"`}},
		{"smtp://u:" + secret + "@host:x", []string{"cannot be parsed", "invalid port"}},
		{"smtp://u:" + secret + "%zz@host", []string{"cannot be parsed", "%-escape is invalid"}},
		{"smtp://host?starttls=always", []string{`starttls="always" is not supported: use starttls=required (the default), starttls=opportunistic or starttls=none`}},
		{"smtp://host?tls=on", []string{`parameter "tls" is not known: use starttls, ca_file, insecure_skip_verify, auth, helo`}},
		{"smtps://host?starttls=required", []string{"starttls is for smtp:// only"}},
		{"smtps://host?timeout=5s", []string{`parameter "timeout" is not known: use ca_file, insecure_skip_verify, auth, helo`}},
		{"smtp://host?auth=cram-md5", []string{`auth="cram-md5" is not supported`}},
		{"smtp://host?auth=plain", []string{"auth=plain but no user"}},
		{"smtp://:" + secret + "@host", []string{"a password but no user"}},
		{"smtp://host?insecure_skip_verify=yes", []string{`insecure_skip_verify="yes" is not a boolean`}},
		{"smtp://host?ca_file=", []string{"ca_file is empty"}},
		{"smtp://host?starttls=none&ca_file=/ca.pem", []string{"starttls=none, so ca_file and insecure_skip_verify have no effect"}},
		{"smtp://host?helo=bad%20name", []string{`helo="bad name" is not a host name`}},
		{"smtp://host?auth=plain&auth=login", []string{`parameter "auth" is given 2 times`}},
		{"smtp://host/path", []string{`must not have a path ("/path")`}},
		{"smtp://u:" + secret + "@host#frag", []string{"#fragment"}},
		{"file://", []string{"file:// has no directory"}},
		{"file:///out?mode=0600", []string{"file:// takes no parameters"}},
		{"file://u:" + secret + "@host/out", []string{"must not have a user or password"}},
		{"log://host", []string{"log:// takes no host, path or parameters"}},
		{"log://?level=debug", []string{"log:// takes no host"}},
		// Every problem at once.
		{"smtp://:" + secret + "@host:70000/x?starttls=maybe&foo=1&auth=weird", []string{"a password but no user", `port "70000"`, `path ("/x")`, `starttls="maybe"`, `parameter "foo" is not known`, `auth="weird"`}},
	}
	for _, tt := range tests {
		_, err := parseURL(tt.url)
		if err == nil {
			t.Errorf("parseURL(%q) succeeded, want an error", tt.url)
			continue
		}
		if !errors.Is(err, ErrInvalidURL) {
			t.Errorf("parseURL(%q) = %v, want ErrInvalidURL", tt.url, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("parseURL(%q) = %q, want it to contain %q", tt.url, err, w)
			}
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("parseURL(%q) = %q: the error holds the password", tt.url, err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	good := Config{URL: "log://"}
	good.setDefaults()
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate(%+v) = %v", good, err)
	}
	if good.Timeout != 30*time.Second || good.Burst != 1 || good.Logger == nil || good.Rate != 0 {
		t.Errorf("defaults = timeout %v, burst %d, rate %v, logger %v; want 30s, 1, 0, non-nil", good.Timeout, good.Burst, good.Rate, good.Logger)
	}

	bad := Config{URL: "smtpx://h", Timeout: -time.Second, Rate: math.NaN(), Burst: -2}
	err := bad.Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad config")
	}
	for _, w := range []string{`scheme "smtpx"`, "timeout -1s is negative", "rate NaN is not usable", "burst -2 is negative"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Validate = %q, want it to contain %q", err, w)
		}
	}
	if !errors.Is(err, ErrInvalidURL) {
		t.Errorf("Validate = %v, want it to match ErrInvalidURL", err)
	}
	if err := (Config{URL: "log://", Rate: -1}).Validate(); err == nil || errors.Is(err, ErrInvalidURL) {
		t.Errorf("Validate with a negative rate = %v, want an error that is not about the URL", err)
	}
	if _, err := Open(context.Background(), bad); err == nil {
		t.Error("Open accepted a bad config")
	}
}

func TestOpenCAFile(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url  string
		want string
	}{
		{"smtp://u:pw@host?ca_file=" + filepath.Join(dir, "missing.pem"), "cannot be read: fix the path"},
		{"smtps://host?ca_file=" + notPEM, "holds no PEM certificate"},
	}
	for _, tt := range tests {
		_, err := Open(context.Background(), testConfig(tt.url))
		if err == nil || !errors.Is(err, ErrInvalidURL) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%q) = %v, want ErrInvalidURL containing %q", tt.url, err, tt.want)
		}
	}
	if _, err := Open(context.Background(), testConfig("smtp://u:pw@host?ca_file="+filepath.Join(dir, "missing.pem"))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open with a missing ca_file = %v, want it to match os.ErrNotExist", err)
	}
}

func TestOpenLogsWithoutPassword(t *testing.T) {
	const secret = "Sup3rS3cret"
	var buf bytes.Buffer
	cfg := testConfig("smtps://mailer:" + secret + "@mail.example.com?insecure_skip_verify=true")
	cfg.Logger = slog.New(slog.NewTextHandler(&buf, nil))
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	out := buf.String()
	if strings.Contains(out, secret) {
		t.Errorf("the log holds the password:\n%s", out)
	}
	for _, w := range []string{"level=WARN", "insecure_skip_verify=true", "server=mail.example.com:465", "user=mailer", "mail: sender ready"} {
		if !strings.Contains(out, w) {
			t.Errorf("the log does not contain %q:\n%s", w, out)
		}
	}
}

func TestOpenCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Open(ctx, testConfig("log://")); !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a cancelled context = %v, want context.Canceled", err)
	}
}
