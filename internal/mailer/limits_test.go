package mailer

import (
	"bytes"
	"fmt"
	"net/mail"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/eventworker/eventworker/internal/smtptest"
	"github.com/eventworker/eventworker/internal/testenv"
)

// atLimits are display names and subjects as long as the contract allows text to be (1,000
// characters), with and without spaces, ASCII and not.
var atLimits = map[string]string{
	"ascii run":        strings.Repeat("a", 1000),
	"shop and run":     "Acme " + strings.Repeat("x", 995),
	"non-ascii run":    strings.Repeat("é", 1000),
	"emoji run":        strings.Repeat("👍", 1000),
	"words":            strings.Repeat("Grüße aus Köln ", 66)[:990],
	"encoded-word run": strings.Repeat("=?utf-8?q?x?=", 76),
}

// TestHeadersAtTheContractsLimits sends every field at the length the contract allows through a
// real SMTP server and reads it back: no header line is longer than RFC 5322's recommended 78
// characters (the limit servers enforce is 998), names are shortened to maxDisplayName
// characters ending in "…", and the subject reads in full.
func TestHeadersAtTheContractsLimits(t *testing.T) {
	ts := smtptest.Start(t, smtptest.Options{})
	s := openSender(t, testConfig(ts.URL("smtp", "", "starttls=none")))
	sent := 0
	for name, v := range atLimits {
		for _, field := range []string{"From", "To", "Reply-To", "Subject"} {
			t.Run(name+"/"+field, func(t *testing.T) {
				m := simpleMessage(fmt.Sprintf("limits-%d@shop.example", sent))
				m.ReplyTo = &Address{Name: "Help", Email: "help@shop.example"}
				switch field {
				case "From":
					m.From.Name = v
				case "To":
					m.To[0].Name = v
				case "Reply-To":
					m.ReplyTo.Name = v
				case "Subject":
					m.Subject = v
				}
				if err := s.Send(testContext(t), m); err != nil {
					t.Fatalf("Send: %v", err)
				}
				sent++
				raw := ts.Messages()[sent-1].Data
				head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
				for _, line := range strings.Split(string(head), "\r\n") {
					if len(line) > 78 {
						t.Errorf("header line of %d characters: %.90s...", len(line), line)
					}
				}
				h := parseMessage(t, raw).header
				if field == "Subject" {
					if got := decodeHeader(t, h.Get("Subject")); got != cleanText(v) {
						t.Errorf("Subject reads %q, want the whole subject", got)
					}
					return
				}
				got := addrName(t, h, field)
				if n := utf8.RuneCountInString(got); n != maxDisplayName || !strings.HasSuffix(got, "…") {
					t.Errorf("%s name reads %q (%d characters), want it shortened to %d ending in …", field, got, n, maxDisplayName)
				}
				if want := strings.ReplaceAll(cleanText(v), "=?", "=\u2060?"); !strings.HasPrefix(want, strings.TrimSuffix(got, "…")) {
					t.Errorf("%s name reads %q, want the start of %q", field, got, want)
				}
			})
		}
	}
}

// TestStrictParserReadsHostileNames reads what the worker sends with Python's email package
// under its strict policy, which raises on any defect: a name that looks like an encoded word
// and a name at the contract's length read as the worker meant them. Python keeps the space
// between two encoded words of a display name and the fold before a subject's first word, which
// RFC 2047 says to drop, so spaces are compared collapsed.
func TestStrictParserReadsHostileNames(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		testenv.Unavailable(t, "python3 for its strict email parser: %v", err)
	}
	const script = `
import sys, email, email.policy
msg = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.strict)
for field in ("From", "To", "Reply-To"):
    print(msg[field].addresses[0].display_name)
print(msg["Subject"])
`
	names := []string{
		"=?utf-8?q?Bob=0D=0ABcc:_evil@x.test?=",
		strings.Repeat("a", 1000),
		`Jürgen "J" Müller \ Söhne`,
	}
	for i, name := range names {
		m := simpleMessage(fmt.Sprintf("strict-%d@shop.example", i))
		m.From.Name, m.To[0].Name = name, name
		m.ReplyTo = &Address{Name: name, Email: "help@shop.example"}
		m.Subject = name
		raw, err := Encode(m)
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}
		cmd := exec.Command(py, "-c", script)
		cmd.Stdin = bytes.NewReader(raw)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("Python's strict parser refused the message with the name %q: %v\n%s\n%s", name, err, out, raw)
		}
		lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		wantName := displayName(name)
		for j, field := range []string{"From", "To", "Reply-To"} {
			if collapse(lines[j]) != collapse(wantName) {
				t.Errorf("%s name reads %q in Python, want %q", field, lines[j], wantName)
			}
		}
		if collapse(lines[3]) != collapse(cleanText(name)) {
			t.Errorf("Subject reads %q in Python, want %q", lines[3], cleanText(name))
		}
		if _, err := mail.ParseAddress(parseMessage(t, raw).header.Get("To")); err != nil {
			t.Errorf("Go's parser refuses To: %v", err)
		}
	}
}

// collapse makes every run of spaces one and drops the one before an ellipsis, to compare what
// Python reads.
func collapse(s string) string {
	return strings.ReplaceAll(strings.Join(strings.Fields(s), " "), " …", "…")
}
