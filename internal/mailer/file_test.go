package mailer

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/eventworker/eventworker/internal/logging"
)

func TestFileBackend(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out", "sub") // does not exist yet
	s := openSender(t, testConfig("file://"+dir))
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("Open did not create %s: %v", dir, err)
	}

	m := testMessage("order-1001.confirmation@shop.example")
	if err := s.Send(testContext(t), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	path := filepath.Join(dir, "order-1001.confirmation@shop.example.eml")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the .eml: %v", err)
	}
	p := parseMessage(t, raw)
	if subj := decodeHeader(t, p.header.Get("Subject")); subj != m.Subject {
		t.Errorf("Subject = %q, want %q", subj, m.Subject)
	}
	if len(p.parts) != 2 || p.parts[0].body != m.Text || p.parts[1].body != m.HTML {
		t.Errorf("parts = %+v, want the text and the HTML", p.parts)
	}

	// A resend (same Message-ID) replaces the file.
	m.Subject = "Zweiter Versuch"
	if err := s.Send(testContext(t), m); err != nil {
		t.Fatalf("second Send: %v", err)
	}
	raw, err = os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if subj := decodeHeader(t, parseMessage(t, raw).header.Get("Subject")); subj != "Zweiter Versuch" {
		t.Errorf("after the resend Subject = %q, want the new one", subj)
	}

	// An ID with a slash stays in the directory.
	if err := s.Send(testContext(t), simpleMessage("../../etc/passwd@x")); err == nil {
		t.Error("a Message-ID with a path was accepted")
	}
	if err := s.Send(testContext(t), simpleMessage("a/b@shop.example")); err != nil {
		t.Fatalf("Send: %v", err)
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{emlName("a/b@shop.example"), "order-1001.confirmation@shop.example.eml"}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("directory holds %q, want exactly %q (one file per Message-ID, no temporary files)", names, want)
	}
}

func TestEmlName(t *testing.T) {
	tests := []struct{ id, want string }{
		{"order-1001.confirmation@shop.example", "order-1001.confirmation@shop.example.eml"},
		{"a+b=c_d@x", "a+b=c_d@x.eml"},
	}
	for _, tt := range tests {
		if got := emlName(tt.id); got != tt.want {
			t.Errorf("emlName(%q) = %q, want %q", tt.id, got, tt.want)
		}
	}
	// Replaced characters get a hash, so that IDs differing only there do not share a file.
	a, b := emlName("a/b@x"), emlName("a_b@x")
	if a == b || !strings.HasPrefix(a, "a_b@x-") || strings.ContainsAny(a, "/\\") {
		t.Errorf("emlName(a/b@x) = %q, emlName(a_b@x) = %q: want distinct, safe names", a, b)
	}
	if got := emlName(".hidden@x"); strings.HasPrefix(got, ".") {
		t.Errorf("emlName(.hidden@x) = %q, a hidden file", got)
	}
	long := emlName(strings.Repeat("a", 240) + "@x")
	if len(long) > 200 {
		t.Errorf("emlName of a long ID is %d bytes long", len(long))
	}
	if first, again := emlName("x/y@z"), emlName("x/y@z"); first != again {
		t.Errorf("emlName is not deterministic: %q, then %q", first, again)
	}
}

func TestLogBackend(t *testing.T) {
	var buf bytes.Buffer
	cfg := testConfig("log://")
	cfg.Logger = logging.New(&buf, slog.LevelInfo)
	s := openSender(t, cfg)
	buf.Reset() // drop Open's line

	m := testMessage("order-1001.confirmation@shop.example")
	m.To = append(m.To, Address{Email: "carol@EXAMPLE.com"})
	if err := s.Send(logging.WithEvent(testContext(t), loggedEvent{}), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("logged %d lines, want 1:\n%s", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("log line %q: %v", lines[0], err)
	}
	want := map[string]any{
		"message_id":        "order-1001.confirmation@shop.example",
		"template":          "order_confirmation",
		"subject":           m.Subject,
		"recipients":        float64(3),
		"recipient_domains": []any{"example.com", "example.org"},
		"event_id":          "e-1",
		"consumer":          "notifications",
	}
	for k, v := range want {
		got, _ := json.Marshal(rec[k])
		w, _ := json.Marshal(v)
		if !bytes.Equal(got, w) {
			t.Errorf("%s = %s, want %s", k, got, w)
		}
	}
	for _, secret := range []string{"alice@", "bob@", "carol@", "shop@shop.example", "help@", "Hallo Alice", "danke"} {
		if strings.Contains(lines[0], secret) {
			t.Errorf("the log line holds %q: %s", secret, lines[0])
		}
	}
}

// loggedEvent is the event a test email is about, as the worker puts it in the context.
type loggedEvent struct{}

func (loggedEvent) LogAttrs() []slog.Attr {
	return []slog.Attr{slog.String("event_id", "e-1"), slog.String("consumer", "notifications")}
}
