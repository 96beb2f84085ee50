package mailer

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eventworker/eventworker/internal/smtptest"
)

// testTimeout bounds every send and context of the tests, so that a bug fails a test instead
// of hanging it.
const testTimeout = 10 * time.Second

// testMessage is a valid message with two recipients, a Reply-To and non-ASCII text.
func testMessage(id string) *Message {
	return &Message{
		From:      Address{Name: "Jürgen Müller vom Shop", Email: "shop@shop.example"},
		To:        []Address{{Name: "Alice Ärger", Email: "alice@example.com"}, {Email: "bob@example.org"}},
		ReplyTo:   &Address{Name: "Kundendienst", Email: "help@shop.example"},
		Subject:   "Ihre Bestellung über 19,99 € – Grüße aus Köln",
		Text:      "Hallo Alice,\r\ndanke für Ihre Bestellung.\r\n",
		HTML:      "<p>Hallo Alice,</p><p>danke für Ihre Bestellung.</p>",
		MessageID: id,
		Date:      time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC),
		Template:  "order_confirmation",
	}
}

// simpleMessage is a valid ASCII message to one recipient.
func simpleMessage(id string) *Message {
	return &Message{
		From:      Address{Email: "shop@shop.example"},
		To:        []Address{{Email: "alice@example.com"}},
		Subject:   "Hello",
		Text:      "Hello Alice",
		HTML:      "<p>Hello Alice</p>",
		MessageID: id,
		Template:  "welcome",
	}
}

// testConfig is a Config for url with the test timeout, no rate limit and a silent logger.
func testConfig(url string) Config {
	return Config{URL: url, Timeout: testTimeout, Logger: slog.New(slog.DiscardHandler)}
}

// openSender opens cfg and closes the sender when the test ends.
func openSender(t testing.TB, cfg Config) Sender {
	t.Helper()
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// testContext is a context that ends with the test, or after testTimeout.
func testContext(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// parsed is a received message taken apart.
type parsed struct {
	header mail.Header
	// names are the header field names in order, one per field (continuation lines excluded).
	names []string
	// parts are the multipart/alternative parts: content type and decoded body.
	parts []part
}

type part struct {
	contentType string
	body        string
}

// parseMessage parses raw as net/mail and mime/multipart would, failing the test on anything
// malformed.
func parseMessage(t testing.TB, raw []byte) parsed {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parsing the message: %v\n%s", err, raw)
	}
	p := parsed{header: msg.Header}
	head, _, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok {
		t.Fatalf("message has no blank line after the header:\n%s", raw)
	}
	for _, line := range strings.Split(string(head), "\r\n") {
		if line == "" || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		name, _, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("header line %q has no colon", line)
		}
		p.names = append(p.names, name)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	if mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type is %q, want multipart/alternative", mediaType)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		mp, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading a part: %v", err)
		}
		body, err := io.ReadAll(mp) // NextPart decodes quoted-printable
		if err != nil {
			t.Fatalf("reading a part's body: %v", err)
		}
		p.parts = append(p.parts, part{contentType: mp.Header.Get("Content-Type"), body: string(body)})
	}
	return p
}

// decodeHeader decodes the RFC 2047 encoded words of a header value.
func decodeHeader(t testing.TB, v string) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(v)
	if err != nil {
		t.Fatalf("decoding header %q: %v", v, err)
	}
	return s
}

// sortedNames returns the header names, canonicalised and sorted.
func sortedNames(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.ToLower(n)
	}
	slices.Sort(out)
	return out
}

// caFileEscaped is the test server's CA file for a URL query: ca_file=caFileEscaped(ts).
func caFileEscaped(ts *smtptest.Server) string {
	return url.QueryEscape(ts.CAFile())
}
