package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/mail"
	neturl "net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/handlers"
	"github.com/eventworker/eventworker/internal/broker"
	"github.com/eventworker/eventworker/internal/emails"
	"github.com/eventworker/eventworker/internal/idempotency"
	"github.com/eventworker/eventworker/internal/mailer"
	"github.com/eventworker/eventworker/internal/metrics"
	"github.com/eventworker/eventworker/internal/smtptest"
	"github.com/eventworker/eventworker/internal/tenants"
	"github.com/eventworker/eventworker/internal/testenv"
	"github.com/eventworker/eventworker/internal/worker/handling"
)

// The notifications consumer end to end: events published to RabbitMQ go through the worker's
// pipeline to the real handler, with the real renderer, the tenant store on the real Redis and
// the SMTP sender, and arrive at an in-process SMTP server. The other consumers keep the
// harness's recorder.

// notifFrom is the platform's sender address (EVENTWORKER_MAIL_FROM) in these tests.
var notifFrom = mailer.Address{Name: "Platform", Email: "noreply@platform.example"}

// notifSupport is the platform's support address (EVENTWORKER_PLATFORM_SUPPORT_EMAIL).
const notifSupport = "support@platform.example"

// notifWait bounds every wait of these tests: generous, for a loaded two-core machine.
const notifWait = 30 * time.Second

// emailHeaderNames are the header fields of every email the worker sends, no more (lower case,
// sorted).
var emailHeaderNames = []string{"auto-submitted", "content-type", "date", "from", "message-id", "mime-version", "reply-to", "subject", "to", "x-auto-response-suppress"}

// notifEnv is a worker under test whose notifications consumer is the real handler, sending to
// its own SMTP server.
type notifEnv struct {
	*env
	smtp    *smtptest.Server
	tenants *tenants.Store
	mail    *mailer.Metrics
	handler handling.Handler
}

// newNotifEnv builds the harness's env and, before it, the SMTP server, the sender and the tenant
// store under a Redis prefix of their own; the cleanups run in reverse, so the worker stops
// before the sender closes, the server stops and the tenant keys are removed.
func newNotifEnv(t *testing.T, tweak func(*config.Config)) *notifEnv {
	t.Helper()
	srv := smtptest.Start(t, smtptest.Options{})
	return newNotifEnvOn(t, tweak, srv, "smtp://"+srv.Addr()+"?starttls=none", notifLogger(t))
}

// newNotifEnvOn is newNotifEnv with the SMTP server, the mail URL and the logger given.
func newNotifEnvOn(t *testing.T, tweak func(*config.Config), srv *smtptest.Server, mailURL string, log *slog.Logger) *notifEnv {
	t.Helper()
	mm := mailer.NewMetrics(prometheus.NewRegistry())
	sender, err := mailer.Open(context.Background(), mailer.Config{
		URL: mailURL, Timeout: 10 * time.Second, Metrics: mm, Logger: log,
	})
	if err != nil {
		t.Fatalf("mailer.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := sender.Close(); err != nil {
			t.Errorf("closing the mail sender: %v", err)
		}
	})
	rdb := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr(t)})
	prefix := testenv.Name("ewnotif") + ":"
	t.Cleanup(func() {
		unlinkKeys(t, rdb, prefix)
		_ = rdb.Close()
	})
	renderer, err := emails.New(emails.Config{})
	if err != nil {
		t.Fatalf("emails.New: %v", err)
	}
	store := tenants.New(rdb, prefix)
	e := newEnv(t, tweak)
	return &notifEnv{
		env: e, smtp: srv, tenants: store, mail: mm,
		handler: builtIn(t, handlers.ConsumerNotifications, handlers.Deps{
			MailFrom: notifFrom, PlatformSupport: notifSupport, Emails: renderer, Mail: sender, Tenants: store, MailMetrics: mm, Logger: log,
		}),
	}
}

// notifLogger discards, or logs to the test with -v, like the harness's worker logger.
func notifLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewJSONHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewJSONHandler(io.Discard, nil))
}

// unlinkKeys removes every key under prefix.
func unlinkKeys(t *testing.T, rdb *redis.Client, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), notifWait)
	defer cancel()
	iter := rdb.Scan(ctx, 0, prefix+"*", 100).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Errorf("scanning %s*: %v", prefix, err)
		return
	}
	if len(keys) > 0 {
		if err := rdb.Unlink(ctx, keys...).Err(); err != nil {
			t.Errorf("unlinking %d keys under %s: %v", len(keys), prefix, err)
		}
	}
}

// start runs the worker as env.start does, with the real notifications handler in place of
// the recorder's.
func (n *notifEnv) start() {
	e := n.env
	e.t.Helper()
	hs := e.rec.handlers(e.reg)
	replaced := false
	for i, h := range hs {
		if h.Consumer() == handlers.ConsumerNotifications {
			hs[i], replaced = n.handler, true
		}
	}
	if !replaced {
		e.t.Fatalf("the registry has no %s consumer", handlers.ConsumerNotifications)
	}
	e.metrics = metrics.New(metrics.NewRegistry())
	confirmer := broker.NewConfirmer(e.cfg.AMQPURL, "eventworker-test", 5*time.Second, nil)
	w, err := New(Deps{
		Config: workerConfig(e.cfg), Registry: e.reg, Handlers: hs,
		Dedupe:    idempotency.New(e.rdb, e.cfg.CachePrefix, e.cfg.IdempotencyTTL, e.cfg.LeaseTTL),
		Confirmer: confirmer, Metrics: e.metrics, Logger: notifLogger(e.t),
	})
	if err != nil {
		_ = confirmer.Close()
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.worker, e.cancel, e.done = w, cancel, make(chan error, 1)
	go func() { e.done <- w.Run(ctx); _ = confirmer.Close() }()
	e.waitFor("worker ready", notifWait, func() bool { return w.Ready(context.Background()) == nil })
}

// saveProfile stores a profile for tenantID with the shop name name, as tenant.provisioned
// would, and returns it.
func (n *notifEnv) saveProfile(tenantID, name string) tenants.Profile {
	n.t.Helper()
	p := tenants.Profile{
		TenantID: tenantID, Name: name, OwnerEmail: "owner@" + tenantID + ".example",
		SupportEmail: "help@" + tenantID + ".example", Locale: "en", Plan: "growth",
	}
	if ok, err := n.tenants.SaveProfile(context.Background(), idempotency.Mark{}, p, time.Now()); err != nil || ok != tenants.Stored {
		n.t.Fatalf("SaveProfile(%s) = %v, %v", tenantID, ok, err)
	}
	return p
}

// event returns an event body: the registry's first example of typ at version with event_id
// id, tenant_id tenant (and data.tenant_id for tenant.* events) and the data fields in set
// replaced.
func (n *notifEnv) event(typ string, version int, id, tenant string, set map[string]any) []byte {
	n.t.Helper()
	v, err := n.reg.Lookup(typ, version)
	if err != nil {
		n.t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(v.Examples[0].Event, &ev); err != nil {
		n.t.Fatal(err)
	}
	ev["event_id"], ev["tenant_id"] = id, tenant
	data, _ := ev["data"].(map[string]any)
	if strings.HasPrefix(typ, "tenant.") {
		data["tenant_id"] = tenant
	}
	for k, val := range set {
		data[k] = val
	}
	b, err := json.Marshal(ev)
	if err != nil {
		n.t.Fatal(err)
	}
	return b
}

// send publishes a body that must be valid per the registry.
func (n *notifEnv) send(typ string, body []byte) {
	n.t.Helper()
	if _, err := n.reg.Validate(typ, body); err != nil {
		n.t.Fatalf("the test's %s event is invalid: %v\n%s", typ, err, body)
	}
	n.publish(typ, body, nil)
}

// outcome is the notifications consumer's count of an outcome.
func (n *notifEnv) outcome(outcome string) int {
	return int(testutil.ToFloat64(n.metrics.Outcomes.WithLabelValues(handlers.ConsumerNotifications, outcome)))
}

// waitOutcome waits until the notifications consumer counted want of outcome.
func (n *notifEnv) waitOutcome(outcome string, want int) {
	n.t.Helper()
	n.waitFor(outcome+" outcomes of notifications", notifWait, func() bool { return n.outcome(outcome) >= want })
	if got := n.outcome(outcome); got != want {
		n.t.Fatalf("%s outcomes of notifications = %d, want %d", outcome, got, want)
	}
}

// byMessageID indexes the server's messages by their Message-ID header.
func (n *notifEnv) byMessageID() map[string][]smtptest.Received {
	n.t.Helper()
	out := map[string][]smtptest.Received{}
	for _, r := range n.smtp.Messages() {
		msg, err := mail.ReadMessage(bytes.NewReader(r.Data))
		if err != nil {
			n.t.Fatalf("unparsable message: %v\n%s", err, r.Data)
		}
		id := msg.Header.Get("Message-Id")
		out[id] = append(out[id], r)
	}
	return out
}

// notifQueues are the notifications consumer's work and dead-letter queues.
func (n *notifEnv) notifQueues() (work, dead string) {
	names := broker.Names{Prefix: n.cfg.QueuePrefix, Consumer: handlers.ConsumerNotifications}
	return names.Work(), names.DeadLetter()
}

// messageID is the Message-ID header the email of an event must carry.
func messageID(eventID, template string) string {
	return "<" + handlers.MessageID(eventID, template, notifFrom.Email) + ">"
}

// parsedEmail is a delivered email taken apart with net/mail and mime/multipart.
type parsedEmail struct {
	header mail.Header
	// names are the header field names, lower case and sorted, one per field.
	names []string
	parts []emailPart
}

type emailPart struct {
	mediaType string
	charset   string
	body      string // decoded
}

// parseEmail parses raw, failing the test on anything malformed or not multipart/alternative.
func parseEmail(t *testing.T, raw []byte) parsedEmail {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parsing the message: %v\n%s", err, raw)
	}
	p := parsedEmail{header: msg.Header}
	head, _, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok {
		t.Fatalf("the message has no blank line after its header:\n%s", raw)
	}
	for _, line := range strings.Split(string(head), "\r\n") {
		if line == "" || line[0] == ' ' || line[0] == '\t' {
			continue // a continuation line
		}
		name, _, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("header line %q has no colon:\n%s", line, raw)
		}
		p.names = append(p.names, strings.ToLower(name))
	}
	slices.Sort(p.names)
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading a part: %v", err)
		}
		body, err := io.ReadAll(part) // NextPart decodes quoted-printable
		if err != nil {
			t.Fatalf("reading a part's body: %v", err)
		}
		mt, ps, err := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("part Content-Type %q: %v", part.Header.Get("Content-Type"), err)
		}
		p.parts = append(p.parts, emailPart{mediaType: mt, charset: ps["charset"], body: string(body)})
	}
	return p
}

// wantEmail is what one delivered email must be.
type wantEmail struct {
	eventID, template string
	// to is the one recipient, in the envelope and the To field.
	to string
	// shop is the From display name and stands in the subject; compared with runs of white
	// space and control characters collapsed, as the mailer replaces control characters.
	shop string
	// replyTo is the Reply-To address, the shop's support email (an owner's email: the
	// platform's).
	replyTo string
	// from is the From display name when it is not the shop's: the platform's, on the emails to
	// a shop's owner.
	from string
}

// checkEmail checks the envelope and the header of got against w and returns it parsed.
func checkEmail(t *testing.T, got smtptest.Received, w wantEmail) parsedEmail {
	t.Helper()
	if got.From != notifFrom.Email {
		t.Errorf("envelope MAIL FROM = %q, want %q", got.From, notifFrom.Email)
	}
	if !slices.Equal(got.To, []string{w.to}) {
		t.Errorf("envelope RCPT TO = %q, want exactly [%s]", got.To, w.to)
	}
	p := parseEmail(t, got.Data)
	h := p.header
	if !slices.Equal(p.names, emailHeaderNames) {
		t.Errorf("header fields = %q, want exactly %q\n%s", p.names, emailHeaderNames, got.Data)
	}
	if v, ok := h["Bcc"]; ok {
		t.Errorf("the email has a Bcc header: %q", v)
	}
	one := func(field string) *mail.Address {
		t.Helper()
		list, err := h.AddressList(field)
		if err != nil || len(list) != 1 {
			t.Errorf("%s %q (%v): want exactly one address", field, h.Get(field), err)
			return &mail.Address{}
		}
		if hasControl(list[0].Name) {
			t.Errorf("%s display name %q holds a control character", field, list[0].Name)
		}
		return list[0]
	}
	fromName := w.shop
	if w.from != "" {
		fromName = w.from
	}
	if from := one("From"); from.Address != notifFrom.Email || words(from.Name) != words(fromName) {
		t.Errorf("From = %q <%s>, want the name %q on %s", from.Name, from.Address, fromName, notifFrom.Email)
	}
	if rt := one("Reply-To"); rt.Address != w.replyTo {
		t.Errorf("Reply-To = %s, want the support email %s", rt.Address, w.replyTo)
	}
	if to := one("To"); to.Address != w.to {
		t.Errorf("To = %s, want %s", to.Address, w.to)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil || hasControl(subject) || !strings.Contains(words(subject), words(w.shop)) {
		t.Errorf("Subject %q decodes to %q (%v): want one line with the shop's name %q", h.Get("Subject"), subject, err, w.shop)
	}
	if id, want := h.Get("Message-Id"), messageID(w.eventID, w.template); id != want {
		t.Errorf("Message-ID = %q, want %q", id, want)
	}
	if v := h.Get("Auto-Submitted"); v != "auto-generated" {
		t.Errorf("Auto-Submitted = %q, want auto-generated", v)
	}
	if _, err := h.Date(); err != nil {
		t.Errorf("Date %q: %v", h.Get("Date"), err)
	}
	if len(p.parts) != 2 || p.parts[0].mediaType != "text/plain" || p.parts[1].mediaType != "text/html" {
		t.Fatalf("parts = %+v, want text/plain and text/html", p.parts)
	}
	for _, part := range p.parts {
		if !strings.EqualFold(part.charset, "utf-8") || strings.TrimSpace(part.body) == "" {
			t.Errorf("%s part: charset %q, %d bytes; want non-empty UTF-8", part.mediaType, part.charset, len(part.body))
		}
	}
	if !strings.Contains(p.parts[1].body, "<html") {
		t.Errorf("the HTML part is not the layout:\n%s", p.parts[1].body)
	}
	return p
}

// words collapses runs of white space and control characters into one space.
func words(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' })
}

// TestNotificationEmailsEndToEnd: one event of every type with an email gives exactly that
// email, branded for the shop and addressed to the right recipient.
func TestNotificationEmailsEndToEnd(t *testing.T) {
	n := newNotifEnv(t, nil)
	const tenant = "mueller"
	shop := n.saveProfile(tenant, "Müller Outdoor")
	n.start()
	tests := []struct {
		name     string
		typ      string
		version  int
		set      map[string]any
		template string
		to       string
		text     string // in the text part
	}{
		{"order.created v1", "order.created", 1, map[string]any{"order_id": "ord-v1", "customer_email": "v1.buyer@example.com"},
			emails.OrderReceived, "v1.buyer@example.com", "your order ord-v1"},
		{"order.created v2", "order.created", 2, map[string]any{"order_id": "ord-v2", "customer_email": "v2.buyer@example.com"},
			emails.OrderReceived, "v2.buyer@example.com", "your order ord-v2"},
		{"order.pending_payment", "order.pending_payment", 1, map[string]any{"order_id": "ord-pay", "customer_email": "payer@example.com"},
			emails.PaymentReminder, "payer@example.com", "your order ord-pay"},
		{"order.confirmed", "order.confirmed", 1, map[string]any{"order_id": "ord-ok", "customer_email": "confirmed@example.com"},
			emails.OrderConfirmed, "confirmed@example.com", "your order ord-ok is confirmed"},
		{"order.cancelled", "order.cancelled", 1, map[string]any{"order_id": "ord-no", "customer_email": "cancelled@example.com"},
			emails.OrderCancelled, "cancelled@example.com", "Your order ord-no has been cancelled"},
		{"user.registered", "user.registered", 1, map[string]any{"email": "new.user@example.com", "name": "Jonas Becker", "locale": "en"},
			emails.Welcome, "new.user@example.com", "Hello Jonas Becker,"},
		{"tenant.provisioned (to owner_email)", "tenant.provisioned", 1,
			map[string]any{"name": shop.Name, "support_email": shop.SupportEmail, "owner_email": "new.owner@example.com", "plan": "growth"},
			emails.TenantWelcome, "new.owner@example.com", "Your plan: growth"},
		{"product.inventory_low (to the profile's owner)", "product.inventory_low", 1, map[string]any{"sku": "MUG-BLU-350", "inventory_quantity": 3},
			emails.LowStock, shop.OwnerEmail, "In stock: 3"},
	}
	ids := make([]string, len(tests))
	for i, tt := range tests {
		ids[i] = uuid.NewString()
		n.send(tt.typ, n.event(tt.typ, tt.version, ids[i], tenant, tt.set))
	}
	n.waitOutcome(metrics.OutcomeOK, len(tests))
	if got := len(n.smtp.Messages()); got != len(tests) {
		t.Errorf("the server got %d messages for %d events, want one each", got, len(tests))
	}
	byID := n.byMessageID()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := byID[messageID(ids[i], tt.template)]
			if len(got) != 1 {
				t.Fatalf("%d messages with the event's Message-ID %s, want 1", len(got), messageID(ids[i], tt.template))
			}
			w := wantEmail{eventID: ids[i], template: tt.template, to: tt.to, shop: shop.Name, replyTo: shop.SupportEmail}
			if emails.ToOwner(tt.template) {
				w.from, w.replyTo = notifFrom.Name, notifSupport // the platform writes to owners
			}
			p := checkEmail(t, got[0], w)
			if !strings.Contains(p.parts[0].body, tt.text) {
				t.Errorf("the text part lacks %q:\n%s", tt.text, p.parts[0].body)
			}
			if !strings.Contains(p.parts[1].body, shop.Name) {
				t.Errorf("the HTML part lacks the shop's name %q", shop.Name)
			}
		})
	}
}

// TestNotificationDuplicateEventSendsOneEmail: the same event_id twice is one email; when the
// done marker is lost (a crash between the email and the record) the handler runs again and
// the resent email carries the same Message-ID.
func TestNotificationDuplicateEventSendsOneEmail(t *testing.T) {
	n := newNotifEnv(t, nil)
	const tenant = "dupes"
	shop := n.saveProfile(tenant, "Dupes & Co")
	n.start()
	id := uuid.NewString()
	body := n.event("order.confirmed", 1, id, tenant, map[string]any{"customer_email": "once@example.com"})
	n.send("order.confirmed", body)
	n.send("order.confirmed", body)
	n.waitOutcome(metrics.OutcomeOK, 1)
	n.waitOutcome(metrics.OutcomeDuplicate, 1)
	want := wantEmail{eventID: id, template: emails.OrderConfirmed, to: "once@example.com", shop: shop.Name, replyTo: shop.SupportEmail}
	msgs := n.smtp.Messages()
	if len(msgs) != 1 {
		t.Fatalf("the server got %d messages for one event published twice, want 1", len(msgs))
	}
	checkEmail(t, msgs[0], want)

	key := n.cfg.CachePrefix + "eventworker:idem:" + handlers.ConsumerNotifications + ":" + id
	if deleted, err := n.rdb.Del(context.Background(), key).Result(); err != nil || deleted != 1 {
		t.Fatalf("deleting the done marker %s: %d, %v", key, deleted, err)
	}
	n.send("order.confirmed", body)
	n.waitOutcome(metrics.OutcomeOK, 2)
	msgs = n.smtp.WaitMessages(t, 2, notifWait)
	if len(msgs) != 2 {
		t.Fatalf("the server got %d messages, want 2 (the resend)", len(msgs))
	}
	first, second := parseEmail(t, msgs[0].Data), checkEmail(t, msgs[1], want)
	if a, b := first.header.Get("Message-Id"), second.header.Get("Message-Id"); a != b {
		t.Errorf("the resend has Message-ID %q, the first email %q: want the same", b, a)
	}
}

// TestNotificationHeaderInjection: names from events and profiles never add a header or a
// recipient; an address with a line break never reaches the SMTP server.
func TestNotificationHeaderInjection(t *testing.T) {
	n := newNotifEnv(t, nil)
	const goodTenant, evilTenant = "honest", "evil"
	good := n.saveProfile(goodTenant, "Honest Shop")
	evil := n.saveProfile(evilTenant, "Evil\r\nBcc: y@evil.test")
	n.start()
	const hostile = "Bob\r\nBcc: x@evil.test"

	delivered := []struct {
		name     string
		typ      string
		tenant   string
		set      map[string]any
		template string
		to       string
		shop     tenants.Profile
		shopName string // the expected From name when not the profile's
	}{
		{"customer_name", "order.created", goodTenant, map[string]any{"customer_name": hostile, "customer_email": "bob@example.com"},
			emails.OrderReceived, "bob@example.com", good, ""},
		{"user name", "user.registered", goodTenant, map[string]any{"name": hostile, "email": "bob@example.org"},
			emails.Welcome, "bob@example.org", good, ""},
		{"shop name in the profile", "order.cancelled", evilTenant, map[string]any{"customer_email": "carol@example.com"},
			emails.OrderCancelled, "carol@example.com", evil, ""},
		{"shop name in tenant.provisioned", "tenant.provisioned", goodTenant,
			map[string]any{"name": "Evil\r\nBcc: y@evil.test", "owner_email": "dave@example.com", "support_email": good.SupportEmail},
			emails.TenantWelcome, "dave@example.com", good, "Evil\r\nBcc: y@evil.test"},
	}
	// An address with a line break is refused before any SMTP command: by the registry's email
	// format, or, for what that format lets through, by the mailer (a permanent error).
	rejected := []struct {
		name          string
		email         string
		schemaRejects bool     // the registry refuses the event; else the mailer the address
		reason        []string // all in the dead letter's reason
	}{
		{"CRLF after the address", "bob@example.com\r\nBcc: x@evil.test", true, []string{"invalid event: ", "/data/customer_email"}},
		// The standard email format allows a CRLF inside a quoted local part; the registry's own
		// format refuses quoted local parts, and so does the mailer (its tests cover that path).
		{"CRLF in a quoted local part", "\"bob\r\nBcc: x@evil.test\"@example.com", true, []string{"invalid event: ", "/data/customer_email", "not a bare email address"}},
	}

	ids := make([]string, len(delivered))
	for i, tt := range delivered {
		ids[i] = uuid.NewString()
		n.send(tt.typ, n.event(tt.typ, 1, ids[i], tt.tenant, tt.set))
	}
	badIDs := map[string]int{}
	badBodies := make([][]byte, len(rejected))
	for i, tt := range rejected {
		id := uuid.NewString()
		badIDs[id] = i
		badBodies[i] = n.event("order.cancelled", 1, id, goodTenant, map[string]any{"customer_email": tt.email})
		n.publish("order.cancelled", badBodies[i], nil)
	}

	dead := n.dead(handlers.ConsumerNotifications, len(rejected), notifWait)
	n.waitOutcome(metrics.OutcomeOK, len(delivered))
	if got := len(n.smtp.Messages()); got != len(delivered) {
		t.Errorf("the server got %d messages, want %d (none for the rejected addresses)", got, len(delivered))
	}
	byID := n.byMessageID()
	for i, tt := range delivered {
		t.Run("delivered/"+tt.name, func(t *testing.T) {
			got := byID[messageID(ids[i], tt.template)]
			if len(got) != 1 {
				t.Fatalf("%d messages with the event's Message-ID, want 1", len(got))
			}
			shopName := tt.shop.Name
			if tt.shopName != "" {
				shopName = tt.shopName
			}
			w := wantEmail{eventID: ids[i], template: tt.template, to: tt.to, shop: shopName, replyTo: tt.shop.SupportEmail}
			if emails.ToOwner(tt.template) {
				w.from, w.replyTo = notifFrom.Name, notifSupport
			}
			checkEmail(t, got[0], w)
		})
	}
	if len(dead) != len(rejected) {
		t.Fatalf("%d dead letters, want %d", len(dead), len(rejected))
	}
	for _, d := range dead {
		var ev struct {
			ID string `json:"event_id"`
		}
		if err := json.Unmarshal(d.Body, &ev); err != nil {
			t.Fatalf("dead letter body: %v", err)
		}
		i, ok := badIDs[ev.ID]
		if !ok {
			t.Errorf("unexpected dead letter %s: %v", ev.ID, d.Headers)
			continue
		}
		tt := rejected[i]
		t.Run("rejected/"+tt.name, func(t *testing.T) {
			if _, err := n.reg.Validate("order.cancelled", badBodies[i]); (err != nil) != tt.schemaRejects {
				t.Errorf("registry.Validate = %v, want a failure: %v", err, tt.schemaRejects)
			}
			if !bytes.Equal(d.Body, badBodies[i]) {
				t.Error("the dead letter's body differs from the event")
			}
			reason, _ := d.Headers[broker.HeaderReason].(string)
			for _, want := range tt.reason {
				if !strings.Contains(reason, want) {
					t.Errorf("reason %q does not contain %q", reason, want)
				}
			}
			if d.Headers[broker.HeaderErrorClass] != broker.ClassPermanent || d.Headers[broker.HeaderAttempts] != int64(1) {
				t.Errorf("class %v after %v attempts, want permanent after 1", d.Headers[broker.HeaderErrorClass], d.Headers[broker.HeaderAttempts])
			}
		})
	}
	schemaRejects := 0
	for _, tt := range rejected {
		if tt.schemaRejects {
			schemaRejects++
		}
	}
	// The pipeline counts the outcome just after it stored the dead letter.
	n.waitFor("the rejections to be counted", notifWait, func() bool {
		return n.outcome(metrics.OutcomeInvalid)+n.outcome(metrics.OutcomeDeadLettered) >= len(rejected)
	})
	if inv, dl := n.outcome(metrics.OutcomeInvalid), n.outcome(metrics.OutcomeDeadLettered); inv != schemaRejects || dl != len(rejected)-schemaRejects {
		t.Errorf("invalid outcomes %d, dead_lettered %d; want %d and %d", inv, dl, schemaRejects, len(rejected)-schemaRejects)
	}
}

// TestNotificationSMTPReplies: a 4xx reply is retried in the process and the email goes out
// once; a 5xx reply dead-letters the event at once with the server's reply as the reason.
func TestNotificationSMTPReplies(t *testing.T) {
	tests := []struct {
		name      string
		code      int
		enhanced  smtptest.EnhancedCode
		msg       string
		delivered bool
	}{
		{"451 then success", 451, smtptest.EnhancedCode{4, 3, 0}, "greylisted, try again later", true},
		{"550 user unknown", 550, smtptest.EnhancedCode{5, 1, 1}, "user unknown", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNotifEnv(t, func(c *config.Config) { c.QuickRetries, c.QuickBackoff = 2, 10*time.Millisecond })
			const tenant = "replies"
			shop := n.saveProfile(tenant, "Reply Shop")
			n.start()
			n.smtp.FailNext(smtptest.StageRcpt, 1, tt.code, tt.enhanced, tt.msg)
			id := uuid.NewString()
			body := n.event("order.cancelled", 1, id, tenant, map[string]any{"customer_email": "erin@example.com"})
			n.send("order.cancelled", body)
			_, dlq := n.notifQueues()
			// mailCounts are the sender's counts of this email: sent, failed transiently, failed
			// permanently.
			mailCounts := func() [3]float64 {
				return [3]float64{
					testutil.ToFloat64(n.mail.Sent.WithLabelValues(emails.OrderCancelled)),
					testutil.ToFloat64(n.mail.Failed.WithLabelValues(emails.OrderCancelled, mailer.ReasonTransient)),
					testutil.ToFloat64(n.mail.Failed.WithLabelValues(emails.OrderCancelled, mailer.ReasonPermanent)),
				}
			}

			if tt.delivered {
				n.waitOutcome(metrics.OutcomeOK, 1)
				msgs := n.smtp.Messages()
				if len(msgs) != 1 {
					t.Fatalf("the server got %d messages, want exactly 1", len(msgs))
				}
				checkEmail(t, msgs[0], wantEmail{eventID: id, template: emails.OrderCancelled, to: "erin@example.com", shop: shop.Name, replyTo: shop.SupportEmail})
				if got := mailCounts(); got != [3]float64{1, 1, 0} {
					t.Errorf("emails sent, failed transiently, failed permanently = %v, want [1 1 0] (the 451, then the quick retry)", got)
				}
				if r, d := n.outcome(metrics.OutcomeRetried), n.outcome(metrics.OutcomeDeadLettered); r != 0 || d != 0 {
					t.Errorf("retried %d, dead_lettered %d; want 0 and 0 (retried in the process)", r, d)
				}
				if depth := n.queueDepth(dlq); depth != 0 {
					t.Errorf("%s holds %d messages, want 0", dlq, depth)
				}
				return
			}

			d := n.dead(handlers.ConsumerNotifications, 1, notifWait)[0]
			if !bytes.Equal(d.Body, body) {
				t.Errorf("the dead letter's body differs from the event")
			}
			reason, _ := d.Headers[broker.HeaderReason].(string)
			for _, want := range []string{"550", "5.1.1", "user unknown"} {
				if !strings.Contains(reason, want) {
					t.Errorf("reason %q does not contain the server's reply (%q)", reason, want)
				}
			}
			if d.Headers[broker.HeaderErrorClass] != broker.ClassPermanent || d.Headers[broker.HeaderAttempts] != int64(1) ||
				d.Headers[broker.HeaderConsumer] != handlers.ConsumerNotifications {
				t.Errorf("dead letter headers %v, want class permanent after 1 attempt", d.Headers)
			}
			n.waitOutcome(metrics.OutcomeDeadLettered, 1)
			if got := mailCounts(); got != [3]float64{0, 0, 1} {
				t.Errorf("emails sent, failed transiently, failed permanently = %v, want [0 0 1] (no retry)", got)
			}
			if r := n.outcome(metrics.OutcomeRetried); r != 0 {
				t.Errorf("retried outcomes = %d, want 0", r)
			}
			if got := len(n.smtp.Messages()); got != 0 {
				t.Errorf("the server got %d messages, want 0", got)
			}
		})
	}
}

// TestNotificationSuspendedTenantIsSuppressed: no email of a suspended tenant goes out, to
// customers or to the owner; the events are acknowledged, not dead-lettered, and counted.
func TestNotificationSuspendedTenantIsSuppressed(t *testing.T) {
	n := newNotifEnv(t, nil)
	const tenant = "frozen"
	n.saveProfile(tenant, "Frozen Shop")
	if ok, err := n.tenants.SetSuspended(context.Background(), idempotency.Mark{}, tenant, true, time.Now()); err != nil || ok != tenants.Stored {
		t.Fatalf("SetSuspended = %v, %v", ok, err)
	}
	n.start()
	tests := []struct {
		typ      string
		set      map[string]any
		template string
	}{
		{"order.cancelled", map[string]any{"customer_email": "frank@example.com"}, emails.OrderCancelled},
		{"user.registered", map[string]any{"email": "grace@example.com"}, emails.Welcome},
		{"product.inventory_low", nil, emails.LowStock},
	}
	for _, tt := range tests {
		n.send(tt.typ, n.event(tt.typ, 1, uuid.NewString(), tenant, tt.set))
	}
	n.waitOutcome(metrics.OutcomeSuppressed, len(tests))
	// Stopping the worker returns every unacknowledged message to its queue: an empty queue
	// afterwards means the suppressed events were acknowledged.
	if err := n.stop(); err != nil {
		t.Fatalf("stopping the worker: %v", err)
	}
	work, dlq := n.notifQueues()
	n.waitFor(work+" to be empty", notifWait, func() bool { return n.queueDepth(work) == 0 })
	if depth := n.queueDepth(dlq); depth != 0 {
		t.Errorf("%s holds %d messages, want 0", dlq, depth)
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			if got := testutil.ToFloat64(n.mail.Suppressed.WithLabelValues(tt.template)); got != 1 {
				t.Errorf("eventworker_emails_suppressed_total{template=%q} = %v, want 1", tt.template, got)
			}
		})
	}
	for _, o := range []string{metrics.OutcomeOK, metrics.OutcomeRetried, metrics.OutcomeDeadLettered} {
		if got := n.outcome(o); got != 0 {
			t.Errorf("%s outcomes = %d, want 0", o, got)
		}
	}
	if got := len(n.smtp.Messages()); got != 0 {
		t.Errorf("the server got %d messages for a suspended tenant, want 0", got)
	}
	if got := n.smtp.Connections(); got != 0 {
		t.Errorf("the sender connected %d times, want 0", got)
	}
}

// TestNotificationLowStockWithoutProfileIsDeadLettered: the owner's alert waits for the
// tenant's profile; with none, the retries run out and the event is dead-lettered.
func TestNotificationLowStockWithoutProfileIsDeadLettered(t *testing.T) {
	n := newNotifEnv(t, func(c *config.Config) {
		c.QuickRetries, c.QuickBackoff = 1, 10*time.Millisecond
		c.RetryDelays = []time.Duration{time.Second}
	})
	n.start()
	body := n.event("product.inventory_low", 1, uuid.NewString(), "unknown-shop", nil)
	n.send("product.inventory_low", body)
	d := n.dead(handlers.ConsumerNotifications, 1, notifWait)[0]
	reason, _ := d.Headers[broker.HeaderReason].(string)
	if !strings.Contains(reason, "no tenant profile yet") {
		t.Errorf("reason %q does not say %q", reason, "no tenant profile yet")
	}
	if d.Headers[broker.HeaderErrorClass] != broker.ClassExhausted || d.Headers[broker.HeaderAttempts] != int64(workerConfig(n.cfg).MaxAttempts()) {
		t.Errorf("dead letter headers %v, want class exhausted after %d attempts", d.Headers, workerConfig(n.cfg).MaxAttempts())
	}
	if !bytes.Equal(d.Body, body) {
		t.Error("the dead letter's body differs from the event")
	}
	n.waitOutcome(metrics.OutcomeDeadLettered, 1)
	if got := n.outcome(metrics.OutcomeRetried); got != workerConfig(n.cfg).MaxAttempts()-1 {
		t.Errorf("retried outcomes = %d, want %d", got, workerConfig(n.cfg).MaxAttempts()-1)
	}
	if got := len(n.smtp.Messages()); got != 0 {
		t.Errorf("the server got %d messages, want 0", got)
	}
	if got := testutil.CollectAndCount(n.mail.Failed) + testutil.CollectAndCount(n.mail.Sent); got != 0 {
		t.Errorf("the sender recorded %d sends, want none", got)
	}
}

// TestNotificationManyEmailsShareOneConnection: the sender keeps one SMTP connection for all
// the emails of a busy worker.
func TestNotificationManyEmailsShareOneConnection(t *testing.T) {
	n := newNotifEnv(t, func(c *config.Config) { c.Concurrency = 4 })
	const tenant = "busy"
	shop := n.saveProfile(tenant, "Busy Shop")
	n.start()
	kinds := []struct{ typ, field, template string }{
		{"order.cancelled", "customer_email", emails.OrderCancelled},
		{"order.confirmed", "customer_email", emails.OrderConfirmed},
		{"user.registered", "email", emails.Welcome},
	}
	const count = 20
	want := map[string]wantEmail{} // by Message-ID
	for i := range count {
		k := kinds[i%len(kinds)]
		id := uuid.NewString()
		to := fmt.Sprintf("customer-%02d@example.com", i)
		n.send(k.typ, n.event(k.typ, 1, id, tenant, map[string]any{k.field: to}))
		want[messageID(id, k.template)] = wantEmail{eventID: id, template: k.template, to: to, shop: shop.Name, replyTo: shop.SupportEmail}
	}
	n.waitOutcome(metrics.OutcomeOK, count)
	msgs := n.smtp.Messages()
	if len(msgs) != count {
		t.Fatalf("the server got %d messages, want %d", len(msgs), count)
	}
	for id, got := range n.byMessageID() {
		w, ok := want[id]
		if !ok || len(got) != 1 {
			t.Errorf("%d messages with Message-ID %s (expected: %v), want 1 of an event", len(got), id, ok)
			continue
		}
		checkEmail(t, got[0], w)
	}
	if c := n.smtp.Connections(); c != 1 {
		t.Errorf("the server saw %d connections for %d emails, want 1", c, count)
	}
}

// TestNotificationRefusedLoginWaitsForTheFix: a relay that answers 535 to the worker's login
// (a wrong password in EVENTWORKER_MAIL_URL) fails every email, and none is at fault. The email
// waits in the retry queue without spending an attempt, nothing is dead-lettered, the mail server
// counts as unavailable, and the log says at ERROR what to fix, without the password.
func TestNotificationRefusedLoginWaitsForTheFix(t *testing.T) {
	const wrong = "Wr0ng-passw0rd"
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.TLSStartTLS, User: "mailer", Pass: "the-right-one"})
	var logs testenv.SyncBuffer
	url := srv.URL("smtp", "mailer:"+wrong, "ca_file="+neturl.QueryEscape(srv.CAFile()))
	n := newNotifEnvOn(t, func(c *config.Config) { c.QuickRetries, c.QuickBackoff = 1, 10*time.Millisecond }, srv, url,
		slog.New(slog.NewJSONHandler(&logs, nil)))
	const tenant = "login"
	n.saveProfile(tenant, "Login Shop")
	n.start()
	n.send("order.cancelled", n.event("order.cancelled", 1, uuid.NewString(), tenant, map[string]any{"customer_email": "erin@example.com"}))

	n.waitFor("the email to wait for the mail server", notifWait, func() bool { return n.outcome(metrics.OutcomeRetried) >= 1 })
	if got := testutil.ToFloat64(n.mail.Unavailable); got != 1 {
		t.Errorf("eventworker_mail_server_unavailable = %v, want 1", got)
	}
	_, dlq := n.notifQueues()
	if d, depth := n.outcome(metrics.OutcomeDeadLettered), n.queueDepth(dlq); d != 0 || depth != 0 {
		t.Errorf("dead_lettered %d, %s holds %d; want nothing dead-lettered", d, dlq, depth)
	}
	if got := len(srv.Messages()); got != 0 {
		t.Errorf("the server got %d messages, want 0", got)
	}
	var found bool
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"level":"ERROR"`) && strings.Contains(line, "refused the worker's login") {
			found = true
			for _, want := range []string{"535", "check the user and password in EVENTWORKER_MAIL_URL", "restart the worker"} {
				if !strings.Contains(line, want) {
					t.Errorf("the ERROR line does not say %q: %s", want, line)
				}
			}
		}
	}
	if !found {
		t.Errorf("no ERROR line about the refused login in the mailer's log:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), wrong) {
		t.Error("the log contains the password")
	}
}
