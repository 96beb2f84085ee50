package mailer

import (
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eventworker/eventworker/internal/smtptest"
)

// hostile are display names and subjects an attacker may put into an event: header injection
// with every kind of line break, a NUL, quote breaking, a body injection and an encoded word.
var hostile = []string{
	"Bob\r\nBcc: x@evil.test",
	"Bob\nBcc: x@evil.test",
	"Bob\rBcc: x@evil.test",
	"Bob\x00Bcc: x@evil.test",
	"Bob\u2028Bcc: x@evil.test",
	"Bob\u2029Bcc: x@evil.test",
	"Bob\u0085Bcc: x@evil.test",
	"Bob\r\n Bcc: x@evil.test",
	"Bob\r\n\r\n<h1>injected body</h1>",
	`Bob" <x@evil.test>, "Eve`,
	`Bob" <x@evil.test> ("`,
	"Bob \u202eevil.test\u202c",
	"=?utf-8?q?Bob=0D=0ABcc:_x@evil.test?=",
	"Bob\r\nBcc: x@evil.test\r\nTo: y@evil.test\r\nSubject: hi",
}

func TestHeaderInjection(t *testing.T) {
	ts := smtptest.Start(t, smtptest.Options{})
	s := openSender(t, testConfig(ts.URL("smtp", "", "starttls=none")))
	fields := []struct {
		name string
		set  func(m *Message, v string)
		get  func(t *testing.T, h mail.Header) string // the decoded value the reader sees
	}{
		{"From name", func(m *Message, v string) { m.From.Name = v }, func(t *testing.T, h mail.Header) string { return addrName(t, h, "From") }},
		{"To name", func(m *Message, v string) { m.To[0].Name = v }, func(t *testing.T, h mail.Header) string { return addrName(t, h, "To") }},
		{"Reply-To name", func(m *Message, v string) { m.ReplyTo.Name = v }, func(t *testing.T, h mail.Header) string { return addrName(t, h, "Reply-To") }},
		{"Subject", func(m *Message, v string) { m.Subject = v }, func(t *testing.T, h mail.Header) string { return decodeHeader(t, h.Get("Subject")) }},
	}
	wantNames := []string{"auto-submitted", "content-type", "date", "from", "message-id", "mime-version", "reply-to", "subject", "to", "x-auto-response-suppress"}
	sent := 0
	for _, f := range fields {
		for i, bad := range hostile {
			t.Run(fmt.Sprintf("%s/%d", f.name, i), func(t *testing.T) {
				m := simpleMessage(fmt.Sprintf("inject-%d@shop.example", sent))
				m.ReplyTo = &Address{Name: "Help", Email: "help@shop.example"}
				f.set(m, bad)
				if err := s.Send(testContext(t), m); err != nil {
					t.Fatalf("Send: %v", err)
				}
				sent++
				msgs := ts.Messages()
				if len(msgs) != sent {
					t.Fatalf("server has %d messages, want %d", len(msgs), sent)
				}
				got := msgs[sent-1]
				if got.From != "shop@shop.example" || !slices.Equal(got.To, []string{"alice@example.com"}) {
					t.Errorf("envelope = %q -> %q, want shop@shop.example -> [alice@example.com]", got.From, got.To)
				}
				p := parseMessage(t, got.Data)
				if names := sortedNames(p.names); !slices.Equal(names, wantNames) {
					t.Errorf("header fields = %q, want exactly %q\n%s", names, wantNames, got.Data)
				}
				for field, want := range map[string]string{"From": "shop@shop.example", "To": "alice@example.com", "Reply-To": "help@shop.example"} {
					list, err := p.header.AddressList(field)
					if err != nil || len(list) != 1 || list[0].Address != want {
						t.Errorf("%s = %q (%v), want exactly one address, %s", field, p.header.Get(field), err, want)
					}
				}
				want := cleanText(bad)
				if f.name != "Subject" {
					want = strings.ReplaceAll(want, "=?", "=\u2060?") // see displayName
				}
				if v := f.get(t, p.header); v != want {
					t.Errorf("%s reads %q, want %q", f.name, v, want)
				}
				if v := f.get(t, p.header); strings.ContainsAny(v, "\r\n\x00\u2028\u2029\u0085\u202e") {
					t.Errorf("%s reads %q: a control character survived", f.name, v)
				}
				if len(p.parts) != 2 || p.parts[0].body != m.Text || p.parts[1].body != m.HTML {
					t.Errorf("body parts = %+v, want the text and HTML unchanged", p.parts)
				}
			})
		}
	}
}

// addrName is the decoded display name of the one address in header field.
func addrName(t *testing.T, h mail.Header, field string) string {
	t.Helper()
	a, err := mail.ParseAddress(h.Get(field))
	if err != nil {
		t.Fatalf("%s %q: %v", field, h.Get(field), err)
	}
	return a.Name
}

func TestInvalidAddressIsNotSent(t *testing.T) {
	ts := smtptest.Start(t, smtptest.Options{})
	s := openSender(t, testConfig(ts.URL("smtp", "", "starttls=none")))
	bad := append([]string{
		"Bob <bob@example.com>",
		"bob@example.com, eve@evil.test",
		"bob@example.com; eve@evil.test",
		"<bob@example.com>",
		"bob@example.com (comment)",
		`"bob"@example.com`,
		"bob @example.com",
		"bob",
		"",
		"@example.com",
		"bob@",
		"x@evil.test\r\n",
		"bob\u200e@example.com",
		strings.Repeat("a", 250) + "@example.com",
		"bob@exa\xffmple.com",
	}, hostile...)
	fields := []struct {
		name string
		set  func(m *Message, v string)
	}{
		{"from", func(m *Message, v string) { m.From.Email = v }},
		{"to", func(m *Message, v string) { m.To[0].Email = v }},
		{"reply-to", func(m *Message, v string) { m.ReplyTo = &Address{Email: v} }},
	}
	for _, f := range fields {
		for i, addr := range bad {
			t.Run(fmt.Sprintf("%s/%d", f.name, i), func(t *testing.T) {
				m := simpleMessage("bad-address@shop.example")
				f.set(m, addr)
				err := s.Send(testContext(t), m)
				if !errors.Is(err, ErrInvalidAddress) || !IsPermanent(err) {
					t.Fatalf("Send with %s %q = %v, want a permanent ErrInvalidAddress", f.name, addr, err)
				}
				prefix := fmt.Sprintf("%s: %q is not a valid email address: ", f.name, addr)
				if len(addr) <= 100 && !strings.HasPrefix(err.Error(), prefix) {
					t.Errorf("error = %q, want it to start with %q", err, prefix)
				}
			})
		}
	}
	if n := ts.Connections(); n != 0 {
		t.Errorf("server saw %d connections, want 0: nothing invalid may reach it", n)
	}
}

func TestCheckAddressAcceptsBareAddresses(t *testing.T) {
	for _, addr := range []string{
		"bob@example.com",
		"o'brien+orders@mail.example.co.uk",
		"first.last@example.com",
		"jörg@müller.example",
		"x@[192.0.2.1]",
	} {
		got, err := checkAddress("to", Address{Name: "Name\r\n", Email: addr})
		if err != nil {
			t.Errorf("checkAddress(%q) = %v, want it accepted", addr, err)
			continue
		}
		if got.Address != addr || got.Name != "Name" {
			t.Errorf("checkAddress(%q) = %q <%s>, want \"Name\" <%s>", addr, got.Name, got.Address, addr)
		}
	}
}

func TestBuildReportsEveryProblem(t *testing.T) {
	m := simpleMessage("not a msg id")
	m.From.Email = "nobody"
	m.To = append(m.To, Address{Email: "a@b, c@d"})
	_, err := buildMsg(m, time.Now())
	if err == nil {
		t.Fatal("buildMsg accepted an invalid message")
	}
	for _, want := range []string{`from: "nobody"`, `to[1]: "a@b, c@d"`, `message ID "not a msg id"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if !errors.Is(err, ErrInvalidAddress) || !errors.Is(err, ErrInvalidMessage) || !IsPermanent(err) {
		t.Errorf("error %v should match ErrInvalidAddress, ErrInvalidMessage and be permanent", err)
	}

	m = simpleMessage("no-recipient@shop.example")
	m.To = nil
	if _, err := buildMsg(m, time.Now()); !errors.Is(err, ErrInvalidMessage) || !strings.Contains(err.Error(), "no recipient") {
		t.Errorf("buildMsg without recipients = %v, want ErrInvalidMessage naming the missing recipient", err)
	}
}

func TestCheckMessageID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"order-1001.confirmation@shop.example", true},
		{"a@b", true},
		{"evt_01HZX+welcome=1@eventworker.shop.example", true},
		{"", false},
		{"no-at-sign", false},
		{"<a@b>", false},
		{"a@b@c", false},
		{"a b@c", false},
		{"a@b\r\nBcc: x@evil.test", false},
		{".a@b", false},
		{"a..b@c", false},
		{"a@b.", false},
		{"ä@b", false},
		{strings.Repeat("a", 250) + "@b", false},
	}
	for _, tt := range tests {
		err := checkMessageID(tt.id)
		if (err == nil) != tt.ok {
			t.Errorf("checkMessageID(%q) = %v, want ok=%v", tt.id, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("checkMessageID(%q) = %v, want ErrInvalidMessage", tt.id, err)
		}
	}
}

func TestCleanText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Jürgen Müller", "Jürgen Müller"},
		{"Bob\r\nBcc: x@evil.test", "Bob  Bcc: x@evil.test"},
		{"a\tb\x00c\x1bd\x7fe\u0085f", "a b c d e f"},
		{"a\u2028b\u2029c", "a b c"},
		{"\u202eabc\u202c", "abc"},
		{"bad \xff utf8", "bad \ufffd utf8"},
		{"  padded\r\n", "padded"},
		{"emoji 👍🏽 ok", "emoji 👍🏽 ok"},
	}
	for _, tt := range tests {
		if got := cleanText(tt.in); got != tt.want {
			t.Errorf("cleanText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEncodeWordsRoundTrips(t *testing.T) {
	for _, s := range []string{
		"=?",
		"=?utf-8?q?Bob=0D=0ABcc:_x@evil.test?=",
		strings.Repeat("Grüße =? ", 40),
		strings.Repeat("👍", 50) + "=?",
	} {
		enc := encodeWords(s)
		for _, w := range strings.Split(enc, " ") {
			if len(w) > 75 {
				t.Errorf("encoded word %q is longer than 75 characters", w)
			}
		}
		if got := decodeHeader(t, enc); got != s {
			t.Errorf("encodeWords(%q) decodes to %q", s, got)
		}
	}
}

func TestEncode(t *testing.T) {
	m := testMessage("encode@shop.example")
	raw, err := Encode(m)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	p := parseMessage(t, raw)
	if got := p.header.Get("Message-Id"); got != "<encode@shop.example>" {
		t.Errorf("Message-ID = %q", got)
	}
	if len(p.parts) != 2 {
		t.Errorf("got %d parts, want 2", len(p.parts))
	}
	m.To[0].Email = "Bob\r\nBcc: x@evil.test"
	if _, err := Encode(m); !errors.Is(err, ErrInvalidAddress) {
		t.Errorf("Encode with a bad address = %v, want ErrInvalidAddress", err)
	}
	if _, err := Encode(nil); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("Encode(nil) = %v, want ErrInvalidMessage", err)
	}
}
