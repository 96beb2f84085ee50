package demo

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eventworker/eventworker/handlers"
	"github.com/eventworker/eventworker/internal/analytics"
	"github.com/eventworker/eventworker/internal/emails"
	"github.com/eventworker/eventworker/registry"
)

// Sections of the report, in order.
var sections = []string{
	"== published:", "== notifications:", "== cache:", "== inventory:", "== tenants:",
	"== analytics:", "== dead letters:", "== metrics:", "demo OK",
}

// noOutsideServices points the worker's environment variables at ports where nothing listens:
// the demo must not read them, and nothing may dial RabbitMQ or Redis.
func noOutsideServices(t *testing.T) {
	t.Setenv("EVENTWORKER_AMQP_URL", "amqp://guest:guest@127.0.0.1:1/")
	t.Setenv("EVENTWORKER_REDIS_URL", "redis://127.0.0.1:1/0")
	t.Setenv("EVENTWORKER_MAIL_URL", "smtp://127.0.0.1:1")
}

func TestDemoEndToEnd(t *testing.T) {
	noOutsideServices(t)
	dir := t.TempDir()
	var out bytes.Buffer
	rep, err := run(context.Background(), Options{Out: &out, Dir: dir, HTTPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	text := out.String()
	if testing.Verbose() {
		t.Log(text)
	}
	if len(rep.Problems) > 0 {
		t.Errorf("problems: %q", rep.Problems)
	}

	t.Run("no outside service", func(t *testing.T) {
		if rep.AMQPURL != "" {
			t.Errorf("the worker's AMQP URL is %q, want none", rep.AMQPURL)
		}
		if rep.RedisURL != "redis://"+rep.RedisAddr+"/0" || strings.HasSuffix(rep.RedisAddr, ":6379") {
			t.Errorf("the worker's Redis URL %q is not the embedded Redis at %s", rep.RedisURL, rep.RedisAddr)
		}
	})

	t.Run("report sections in order", func(t *testing.T) {
		at := 0
		for _, s := range sections {
			i := strings.Index(text[at:], s)
			if i < 0 {
				t.Fatalf("report lacks %q after offset %d:\n%s", s, at, text)
			}
			at += i + len(s)
		}
	})

	t.Run("emails", func(t *testing.T) {
		reg, err := registry.Default()
		if err != nil {
			t.Fatal(err)
		}
		examples := func(typ string) int {
			n := 0
			ty, err := reg.Type(typ)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range ty.Versions {
				n += len(v.Examples)
			}
			return n
		}
		// The registry's examples plus the burst: 5 customers, 10 orders of which 7 are
		// confirmed and 2 reminded and cancelled; the suspended shop's order sends nothing.
		want := map[string]int{
			emails.TenantWelcome:   examples("tenant.provisioned"),
			emails.Welcome:         examples("user.registered") + 5,
			emails.OrderReceived:   examples("order.created") + 10,
			emails.OrderConfirmed:  examples("order.confirmed") + 7,
			emails.PaymentReminder: examples("order.pending_payment") + 2,
			emails.OrderCancelled:  examples("order.cancelled") + 2,
			emails.LowStock:        examples("product.inventory_low") + len(rep.Derived),
		}
		got := map[string]int{}
		for _, e := range rep.Emails {
			got[e.Template]++
		}
		for tmpl, n := range want {
			if got[tmpl] != n {
				t.Errorf("%d %s emails, want %d", got[tmpl], tmpl, n)
			}
		}
		files, err := filepath.Glob(filepath.Join(dir, "outbox", "*"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != len(rep.Emails) {
			t.Errorf("%d files in the outbox, %d emails in the report", len(files), len(rep.Emails))
		}
		for _, f := range files {
			checkEML(t, f)
		}
	})

	t.Run("derived low-stock event", func(t *testing.T) {
		found := false
		for _, d := range rep.Derived {
			if d.CausationType == "" || d.CausationID == "" {
				t.Errorf("derived %s has no known causation: %+v", d.ID, d)
			}
			if d.ProductID == "lamp-01" && d.CausationType == "product.updated" && d.CausationStep == stepBurst && d.Quantity == 3 && d.Threshold == 5 {
				found = true
				if !slices.ContainsFunc(rep.Emails, func(e email) bool { return e.EventID == d.ID && e.Template == emails.LowStock }) {
					t.Errorf("no low-stock email for the derived %s", d.ID)
				}
			}
		}
		if !found {
			t.Errorf("no product.inventory_low derived from the burst's lamp-01 fall: %+v", rep.Derived)
		}
	})

	t.Run("invalid event dead-lettered", func(t *testing.T) {
		if len(rep.DeadLetters) != 2 {
			t.Fatalf("%d dead letters, want 2 (notifications and analytics): %+v", len(rep.DeadLetters), rep.DeadLetters)
		}
		var consumers []string
		for _, d := range rep.DeadLetters {
			consumers = append(consumers, d.Consumer)
			if d.EventType != "order.created" || d.Class != "permanent" || d.Attempts != 1 ||
				!strings.Contains(d.Reason, "invalid event") || !strings.Contains(d.Reason, "/data/customer_email") {
				t.Errorf("dead letter %+v", d)
			}
			if d.EventID != rep.DeadLetters[0].EventID {
				t.Errorf("dead letters of different events: %s and %s", d.EventID, rep.DeadLetters[0].EventID)
			}
		}
		if !slices.Equal(consumers, []string{"analytics", "notifications"}) {
			t.Errorf("dead letters of %v", consumers)
		}
		if !regexp.MustCompile(`(?m)^  notifications\s+order\.created\s+\S+\s+permanent\s+1\s+invalid event: /data/customer_email`).MatchString(text) {
			t.Errorf("the dead-letter table does not show the reason")
		}
	})

	t.Run("suspended tenant's email suppressed", func(t *testing.T) {
		if len(rep.Suppressed) != 1 {
			t.Fatalf("suppressed %+v, want one email", rep.Suppressed)
		}
		s := rep.Suppressed[0]
		if s.Tenant != "globex" || s.EventType != "order.created" || s.Template != emails.OrderReceived {
			t.Errorf("suppressed %+v", s)
		}
		id := handlers.MessageID(s.EventID, s.Template, "noreply@localhost")
		if _, err := os.Stat(filepath.Join(dir, "outbox", id+".eml")); !os.IsNotExist(err) {
			t.Errorf("the suppressed email was written (%v)", err)
		}
		if !slices.Contains(rep.Metrics.Suppressed, keyValue{emails.OrderReceived, "1"}) {
			t.Errorf("eventworker_emails_suppressed_total %+v", rep.Metrics.Suppressed)
		}
		for _, tp := range rep.Tenants {
			if tp.Suspended != (tp.TenantID == "globex") {
				t.Errorf("tenant %s suspended=%v", tp.TenantID, tp.Suspended)
			}
		}
	})

	t.Run("cache keys purged and refreshed", func(t *testing.T) {
		p := rep.Purge
		if p.Tenant != "globex" || len(p.Left) > 0 || !slices.Contains(p.Removed, "tenant:globex:product:gx-100") ||
			!slices.Contains(p.Removed, "tenant:globex:products:0:page:1") {
			t.Errorf("purge %+v", p)
		}
		if p.GenAfter <= p.GenBefore || p.KeysPurgedMetric < float64(len(p.Removed)) {
			t.Errorf("generation %d -> %d, keys purged metric %v", p.GenBefore, p.GenAfter, p.KeysPurgedMetric)
		}
		if !slices.Contains(rep.Products, keyValue{"tenant:acme:product:lamp-01", "2"}) {
			t.Errorf("product entries %+v lack lamp-01 at version 2", rep.Products)
		}
		if !slices.Contains(rep.UsersGone, "tenant:acme:user:cust-101") || len(rep.UsersKept) > 0 {
			t.Errorf("user entries dropped %v, kept %v", rep.UsersGone, rep.UsersKept)
		}
	})

	t.Run("analytics equal what was published", func(t *testing.T) {
		if len(rep.Analytics) != 2 {
			t.Fatalf("analytics of %d tenants", len(rep.Analytics))
		}
		for _, tc := range rep.Analytics {
			for _, k := range []string{analytics.OrdersCreated, analytics.OrdersConfirmed, analytics.OrdersCancelled, analytics.UsersRegistered} {
				if tc.Expected[k] == 0 || tc.Got[k] != tc.Expected[k] {
					t.Errorf("%s %s: counted %d, published %d", tc.Tenant, k, tc.Got[k], tc.Expected[k])
				}
			}
		}
		// The burst's globex orders: 4, plus the suspended shop's order (counted, not mailed).
		for _, tc := range rep.Analytics {
			if tc.Tenant == "globex" && tc.Got[analytics.OrdersCreated] != int64(4+1+countExamples(t, "order.created", "globex")) {
				t.Errorf("globex orders created %d", tc.Got[analytics.OrdersCreated])
			}
		}
		if !regexp.MustCompile(`(?m)^\s+total\s+\d+\s+\d+\s+\d+\s+\d+\s+USD \d+\.\d\d`).MatchString(text) {
			t.Errorf("no stats table with a USD revenue in the report")
		}
	})

	t.Run("metrics summary", func(t *testing.T) {
		m := rep.Metrics
		reg, err := registry.Default()
		if err != nil {
			t.Fatal(err)
		}
		want := slices.Sorted(slices.Values(reg.Consumers())) // every consumer, however many
		if !slices.Equal(m.Consumers, want) {
			t.Errorf("outcomes of consumers %v, want %v", m.Consumers, want)
		}
		if m.Outcomes["notifications"]["ok"] != float64(len(rep.Emails)) {
			t.Errorf("notifications ok %v, emails %d", m.Outcomes["notifications"]["ok"], len(rep.Emails))
		}
		for _, c := range []string{"notifications", "analytics"} {
			if m.Outcomes[c]["duplicate"] != 1 || m.Outcomes[c]["invalid"] != 1 {
				t.Errorf("%s outcomes %v: want one duplicate (the redelivery) and one invalid", c, m.Outcomes[c])
			}
		}
		for _, want := range []string{"eventworker_events_received_total", "eventworker_handler_outcomes_total", "eventworker_dead_letters_total", "eventworker_cache_keys_purged_total"} {
			if !strings.Contains(text, want) {
				t.Errorf("the metrics summary lacks %s", want)
			}
		}
	})

	t.Run("worker log in the work directory", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(dir, "worker.log"))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`"msg":"consuming"`, `"msg":"event dead-lettered"`, `"msg":"low-stock alert published"`} {
			if !bytes.Contains(b, []byte(want)) {
				t.Errorf("worker.log lacks %s", want)
			}
		}
	})
}

func countExamples(t *testing.T, typ, tenant string) int {
	t.Helper()
	reg, err := registry.Default()
	if err != nil {
		t.Fatal(err)
	}
	ty, err := reg.Type(typ)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range ty.Versions {
		for _, ex := range v.Examples {
			ev, err := reg.Validate(typ, ex.Event)
			if err != nil {
				t.Fatal(err)
			}
			if ev.TenantID == tenant {
				n++
			}
		}
	}
	return n
}

// checkEML parses an outbox file as an email with the headers every email carries.
func checkEML(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	msg, err := mail.ReadMessage(bufio.NewReader(f))
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	for _, h := range []string{"From", "To", "Subject", "Date", "Message-Id", "Auto-Submitted"} {
		if msg.Header.Get(h) == "" {
			t.Errorf("%s has no %s header", filepath.Base(path), h)
		}
	}
	if !strings.HasPrefix(msg.Header.Get("Content-Type"), "multipart/alternative") {
		t.Errorf("%s: Content-Type %q", filepath.Base(path), msg.Header.Get("Content-Type"))
	}
	if id := strings.Trim(msg.Header.Get("Message-Id"), "<>"); filepath.Base(path) != id+".eml" {
		t.Errorf("%s is not named after its Message-ID %s", path, id)
	}
}

func TestDemoTemplatesCoverNotifications(t *testing.T) {
	reg, err := registry.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range reg.EventsOf(handlers.ConsumerNotifications) {
		if _, ok := templates[typ]; !ok {
			t.Errorf("the demo knows no email template of %s", typ)
		}
	}
}

func TestDemoTakenPortAndKeepRunning(t *testing.T) {
	noOutsideServices(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := run(ctx, Options{Out: pw, Dir: t.TempDir(), HTTPAddr: taken.Addr().String(), KeepRunning: true})
		_ = pw.CloseWithError(err)
		done <- err
	}()
	var report strings.Builder
	metricsURL := ""
	sc := bufio.NewScanner(pr)
	for metricsURL == "" && sc.Scan() {
		line := sc.Text()
		report.WriteString(line + "\n")
		if m := regexp.MustCompile(`--keep-running: the worker and (http://\S+/metrics) stay up`).FindStringSubmatch(line); m != nil {
			metricsURL = m[1]
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if metricsURL == "" {
		t.Fatalf("no --keep-running line with the metrics URL:\n%s", report.String())
	}
	if !strings.Contains(report.String(), taken.Addr().String()+" was taken, so a free port was chosen") {
		t.Errorf("the report does not say the address was taken:\n%s", report.String())
	}
	if strings.Contains(metricsURL, taken.Addr().String()) {
		t.Errorf("metrics on the taken address: %s", metricsURL)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`eventworker_handler_outcomes_total{consumer="notifications",outcome="suppressed"} 1`)) {
		t.Errorf("GET %s: %d\n%.2000s", metricsURL, resp.StatusCode, body)
	}
	ready, err := client.Get(strings.TrimSuffix(metricsURL, "/metrics") + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	ready.Body.Close()
	if ready.StatusCode != 200 {
		t.Errorf("/readyz while the demo keeps running: %d", ready.StatusCode)
	}
	select {
	case err := <-done:
		t.Fatalf("run returned before its context ended: %v", err)
	default:
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after SIGINT: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the demo did not stop after its context ended")
	}
}

func TestDemoRefusesAFullOutbox(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "outbox"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "outbox", "old.eml"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Run(context.Background(), Options{Out: io.Discard, Dir: dir, HTTPAddr: "127.0.0.1:0"})
	if err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Errorf("demo with a used outbox: %v", err)
	}
}
