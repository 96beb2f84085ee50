package mailer

import (
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/eventworker/eventworker/internal/smtptest"
	"github.com/eventworker/eventworker/internal/testenv"
)

// TestBounceRedirectAndExtraHeaders: the envelope sender is the bounce address, not From; a
// redirect sends the email to one address and says whom it was for; extra headers go out
// cleaned, and Exchange is asked not to answer automatically.
func TestBounceRedirectAndExtraHeaders(t *testing.T) {
	ts := smtptest.Start(t, smtptest.Options{})
	cfg := testConfig(ts.URL("smtp", "", "starttls=none"))
	cfg.Bounce, cfg.Redirect = "bounces@platform.example", "qa@staging.example"
	s := openSender(t, cfg)
	m := simpleMessage("envelope@shop.example")
	m.To = append(m.To, Address{Name: "Bob", Email: "bob@example.com"})
	m.Headers = []Header{{Name: "X-PM-Tag", Value: "order_received"}, {Name: "Feedback-ID", Value: "order_received:acme-outdoor-europe-gmbh:3f115fcc-9862-4e04-8a7d-2377c36668a9"}}
	if err := s.Send(testContext(t), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := ts.Messages()[0]
	if got.From != "bounces@platform.example" || !slices.Equal(got.To, []string{"qa@staging.example"}) {
		t.Errorf("envelope %s -> %v, want bounces@platform.example -> [qa@staging.example]", got.From, got.To)
	}
	p := parseMessage(t, got.Data)
	for field, want := range map[string]string{
		"From":                      "<shop@shop.example>",
		"To":                        "<qa@staging.example>",
		"X-Eventworker-Original-To": "alice@example.com, bob@example.com",
		"X-Pm-Tag":                  "order_received",
		"Feedback-Id":               "order_received:acme-outdoor-europe-gmbh:3f115fcc-9862-4e04-8a7d-2377c36668a9", // as it is, never encoded
		"X-Auto-Response-Suppress":  "OOF, AutoReply",
	} {
		if v := p.header.Get(field); v != want {
			t.Errorf("%s = %q, want %q", field, v, want)
		}
	}
	if v := p.header.Get("Bcc"); v != "" {
		t.Errorf("a header value added Bcc: %q", v)
	}
}

func TestExtraHeaderNamesAreChecked(t *testing.T) {
	for _, name := range []string{"To", "bcc", "Content-Type", "Return-Path", "X-Eventworker-Original-To", "List-Unsubscribe", "Resent-From", "DKIM-Signature", "X Bad", "X-Bad:", "", strings.Repeat("X", 65)} {
		m := simpleMessage("names@shop.example")
		m.Headers = []Header{{Name: name, Value: "v"}}
		if _, err := Encode(m); !errors.Is(err, ErrInvalidMessage) || !IsPermanent(err) {
			t.Errorf("header name %q: Encode = %v, want a permanent ErrInvalidMessage", name, err)
		}
	}
	for _, value := range []string{"a\r\nBcc: x@evil.test", "=?utf-8?q?x?=", "Grüße", strings.Repeat("x", 513)} {
		m := simpleMessage("values@shop.example")
		m.Headers = []Header{{Name: "X-Tag", Value: value}}
		if _, err := Encode(m); !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("header value %.40q: Encode = %v, want ErrInvalidMessage", value, err)
		}
	}
	twice := simpleMessage("twice@shop.example")
	twice.Headers = []Header{{Name: "X-Tag", Value: "a"}, {Name: "x-tag", Value: "b"}}
	if _, err := Encode(twice); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("a header set twice: Encode = %v, want ErrInvalidMessage", err)
	}
	m := simpleMessage("names@shop.example")
	m.Headers = []Header{{Name: "X-Mailgun-Tag", Value: "welcome"}, {Name: "List-Id", Value: "<orders.acme.example>"}}
	if _, err := Encode(m); err != nil {
		t.Errorf("Encode with allowed headers: %v", err)
	}
}

func TestBounceAndRedirectMustBeAddresses(t *testing.T) {
	cfg := Config{URL: "log://", Bounce: "Bounces <b@x.example>", Redirect: "not an address"}
	err := cfg.Validate()
	for _, want := range []string{"bounce address", "redirect address"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want a problem with the %s", err, want)
		}
	}
}

// TestRedirectIsWhatTheLogShows: with log://, the line of a redirected email names the
// redirect's domain, not the original recipients'.
func TestRedirectIsWhatTheLogShows(t *testing.T) {
	var logs testenv.SyncBuffer
	cfg := testConfig("log://")
	cfg.Redirect, cfg.Logger = "qa@staging.example", slog.New(slog.NewJSONHandler(&logs, nil))
	s := openSender(t, cfg)
	if err := s.Send(testContext(t), simpleMessage("redirect-log@shop.example")); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), `"recipient_domains":["staging.example"]`) || strings.Contains(logs.String(), "example.com") {
		t.Errorf("log line does not name the redirect's domain alone:\n%s", logs.String())
	}
}
