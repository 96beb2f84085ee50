package mailer

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wneessen/go-mail/smtp"
)

// go-mail's PLAIN and LOGIN refuse to send the password over an unencrypted connection to a
// server other than localhost; the test server is on localhost, so this is checked here.
func TestAuthRefusesUnencryptedConnection(t *testing.T) {
	for _, mode := range []string{authAuto, authPlain, authLogin} {
		a := &urlAuth{mode: mode, user: "u", password: "secret", host: "mx.example"}
		_, _, err := a.Start(&smtp.ServerInfo{Name: "mx.example", TLS: false, Auth: []string{"PLAIN", "LOGIN"}})
		if err == nil {
			t.Fatalf("auth=%s: Start over an unencrypted connection succeeded", mode)
		}
		ep := &endpoint{scheme: schemeSMTP, host: "mx.example", port: 587, startTLS: startTLSNone}
		cerr := classifyDial(fmt.Errorf("SMTP AUTH failed: %w", err), ep, true)
		if IsPermanent(cerr) || !strings.Contains(cerr.Error(), "not encrypted") || !strings.Contains(cerr.Error(), "starttls=required") {
			t.Errorf("auth=%s: classified as %q, want a transient error about encryption", mode, cerr)
		}
	}
}

func TestUnquoteReplies(t *testing.T) {
	tests := []struct{ in, want string }{
		{`550 "5.1.1 <x@y>: user unknown"`, "550 5.1.1 <x@y>: user unknown"},
		{`451 "4.3.0 line one\nline two", 550 "5.0.0 \"quoted\""`, `451 4.3.0 line one line two, 550 5.0.0 "quoted"`},
		{`not connected to SMTP server`, `not connected to SMTP server`},
		{`550 "a\r\nBcc: b"`, `550 a Bcc: b`},
	}
	for _, tt := range tests {
		if got := unquoteReplies(tt.in); got != tt.want {
			t.Errorf("unquoteReplies(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
