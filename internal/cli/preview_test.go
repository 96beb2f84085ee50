package cli

import (
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPreview(t *testing.T) {
	noRegistryEnv(t)
	t.Setenv("EVENTWORKER_TEMPLATE_DIR", "")
	t.Setenv("EVENTWORKER_MAIL_FROM", "Platform <mail@platform.example>")

	all := runCLI(t, nil, "preview")
	if all.code != 0 {
		t.Fatalf("preview: exit %d, stderr %s", all.code, all.stderr)
	}
	for _, want := range []string{": order_received ===", ": payment_reminder ===", ": order_confirmed ===", ": order_cancelled ===",
		": welcome ===", ": tenant_welcome ===", ": low_stock ===", "From: \"Acme Outfitters\" <mail@platform.example>"} {
		if !strings.Contains(all.stdout, want) {
			t.Errorf("preview output lacks %q", want)
		}
	}

	de := runCLI(t, nil, "preview", "order.cancelled", "--locale", "de")
	if de.code != 0 || !strings.Contains(de.stdout, "wurde storniert") || strings.Contains(de.stdout, "=== order.created") {
		t.Errorf("preview order.cancelled --locale de: exit %d\n%s%s", de.code, de.stdout, de.stderr)
	}

	dir := t.TempDir()
	event := filepath.Join(dir, "event.json")
	body := `{"event_id":"0b6f0f0e-7f0a-4d5e-9a39-8d6d3c0c1a11","event_type":"user.registered","event_version":1,
		"occurred_at":"2026-11-26T10:00:00","tenant_id":"acme","data":{"user_id":"u-9","email":"neu@example.de","name":"Jörg","locale":"de"}}`
	if err := os.WriteFile(event, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	r := runCLI(t, nil, "preview", event, "--out", out)
	if r.code != 0 {
		t.Fatalf("preview FILE --out: exit %d, stderr %s", r.code, r.stderr)
	}
	base := filepath.Join(out, "event.json.welcome")
	f, err := os.Open(base + ".eml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	msg, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatalf("the .eml does not parse: %v", err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if subject != "Willkommen bei Acme Outfitters" || msg.Header.Get("To") == "" {
		t.Errorf(".eml: Subject %q, To %q", subject, msg.Header.Get("To"))
	}
	for _, ext := range []string{".txt", ".html"} {
		b, err := os.ReadFile(base + ext)
		if err != nil || !strings.Contains(string(b), "Hallo Jörg") {
			t.Errorf("%s: %v\n%s", ext, err, b)
		}
	}

	for _, bad := range [][]string{{"preview", "user.updated"}, {"preview", "no-such-file.json"}} {
		if r := runCLI(t, nil, bad...); r.code != 1 || r.stderr == "" {
			t.Errorf("%q: exit %d, stderr %q; want a failure saying why", bad, r.code, r.stderr)
		}
	}
}
