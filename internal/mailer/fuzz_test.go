package mailer

import (
	"bytes"
	"mime"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzEncodeKeepsHeadersFixed feeds arbitrary text, as an event could carry it, into every
// display name, the subject and the body. Whatever it holds, the encoded email has exactly the
// fixed set of headers, one To with the intended address, and a subject without line breaks.
func FuzzEncodeKeepsHeadersFixed(f *testing.F) {
	for _, s := range []string{
		"Bob\r\nBcc: x@evil.test", "Bob\nBcc: x@evil.test", "\r\n\r\nbody", "=?utf-8?q?=0D=0ABcc:_x?=",
		"\"quoted\" <x@evil.test>", "Jürgen Müller", "\u2028Bcc: y", "a,b@evil.test", "<script>", "",
	} {
		f.Add(s, s, s)
	}
	want := []string{"Auto-Submitted", "Content-Type", "Date", "From", "Message-Id", "Mime-Version", "Reply-To", "Subject", "To", "X-Auto-Response-Suppress"}
	dec := new(mime.WordDecoder)
	f.Fuzz(func(t *testing.T, name, subject, body string) {
		m := &Message{
			From:      Address{Name: name, Email: "shop@shop.example"},
			To:        []Address{{Name: name, Email: "alice@example.com"}},
			ReplyTo:   &Address{Name: name, Email: "help@shop.example"},
			Subject:   subject,
			Text:      body,
			HTML:      body,
			MessageID: "fuzz.welcome@shop.example",
			Date:      time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC),
			Template:  "welcome",
		}
		raw, err := Encode(m)
		if err != nil {
			t.Fatalf("Encode refused event text it should clean: %v", err)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("the encoded email does not parse: %v\n%s", err, raw)
		}
		var got []string
		for k := range msg.Header {
			got = append(got, k)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("headers %v, want exactly %v\n%s", got, want, raw)
		}
		to, err := msg.Header.AddressList("To")
		if err != nil || len(to) != 1 || to[0].Address != "alice@example.com" {
			t.Fatalf("To = %v (%v), want only alice@example.com", to, err)
		}
		for _, h := range []string{"From", "Reply-To"} {
			list, err := msg.Header.AddressList(h)
			if err != nil || len(list) != 1 {
				t.Fatalf("%s = %v (%v), want one address", h, list, err)
			}
		}
		s, err := dec.DecodeHeader(msg.Header.Get("Subject"))
		if err == nil && strings.ContainsAny(s, "\r\n") {
			t.Fatalf("decoded subject %q holds a line break", s)
		}
	})
}
