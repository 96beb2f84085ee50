package mailer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"

	"github.com/eventworker/eventworker/internal/smtptest"
)

func TestSendBuildsMultipartAlternative(t *testing.T) {
	ts := smtptest.Start(t, smtptest.Options{})
	s := openSender(t, testConfig(ts.URL("smtp", "", "starttls=none")))
	m := testMessage("order-1001.confirmation@shop.example")
	if err := s.Send(testContext(t), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := ts.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server got %d messages, want 1", len(msgs))
	}
	got := msgs[0]
	if got.From != "shop@shop.example" {
		t.Errorf("envelope MAIL FROM = %q, want shop@shop.example", got.From)
	}
	if want := []string{"alice@example.com", "bob@example.org"}; !slices.Equal(got.To, want) {
		t.Errorf("envelope RCPT TO = %q, want %q", got.To, want)
	}

	p := parseMessage(t, got.Data)
	wantNames := []string{"auto-submitted", "content-type", "date", "from", "message-id", "mime-version", "reply-to", "subject", "to", "x-auto-response-suppress"}
	if names := sortedNames(p.names); !slices.Equal(names, wantNames) {
		t.Errorf("header fields = %q, want exactly %q", names, wantNames)
	}
	h := p.header
	checkAddr := func(field, wantName, wantEmail string) {
		t.Helper()
		a, err := mail.ParseAddress(h.Get(field))
		if err != nil {
			t.Errorf("%s %q: %v", field, h.Get(field), err)
			return
		}
		if a.Name != wantName || a.Address != wantEmail {
			t.Errorf("%s = %q <%s>, want %q <%s>", field, a.Name, a.Address, wantName, wantEmail)
		}
	}
	checkAddr("From", "Jürgen Müller vom Shop", "shop@shop.example")
	checkAddr("Reply-To", "Kundendienst", "help@shop.example")
	to, err := h.AddressList("To")
	if err != nil {
		t.Fatalf("To %q: %v", h.Get("To"), err)
	}
	if len(to) != 2 || to[0].Name != "Alice Ärger" || to[0].Address != "alice@example.com" ||
		to[1].Name != "" || to[1].Address != "bob@example.org" {
		t.Errorf("To = %v, want Alice Ärger <alice@example.com>, <bob@example.org>", to)
	}
	if subj := decodeHeader(t, h.Get("Subject")); subj != m.Subject {
		t.Errorf("Subject decodes to %q, want %q", subj, m.Subject)
	}
	if !strings.HasPrefix(h.Get("Subject"), "=?UTF-8?") {
		t.Errorf("Subject %q is not RFC 2047-encoded", h.Get("Subject"))
	}
	if id := h.Get("Message-Id"); id != "<order-1001.confirmation@shop.example>" {
		t.Errorf("Message-ID = %q, want <order-1001.confirmation@shop.example>", id)
	}
	if date, err := h.Date(); err != nil || !date.Equal(m.Date) {
		t.Errorf("Date = %q (%v, %v), want %v", h.Get("Date"), date, err, m.Date)
	}
	if v := h.Get("Auto-Submitted"); v != "auto-generated" {
		t.Errorf("Auto-Submitted = %q, want auto-generated", v)
	}
	if v := h.Get("Mime-Version"); v != "1.0" {
		t.Errorf("MIME-Version = %q, want 1.0", v)
	}

	if len(p.parts) != 2 {
		t.Fatalf("got %d parts, want 2 (text/plain and text/html)", len(p.parts))
	}
	wantParts := []struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}}
	for i, w := range wantParts {
		if !strings.HasPrefix(p.parts[i].contentType, w.typ+"; charset=UTF-8") {
			t.Errorf("part %d Content-Type = %q, want %s; charset=UTF-8", i, p.parts[i].contentType, w.typ)
		}
		if p.parts[i].body != w.body {
			t.Errorf("part %d body = %q, want %q", i, p.parts[i].body, w.body)
		}
	}
}

func TestSendZeroDateIsNow(t *testing.T) {
	ts := smtptest.Start(t, smtptest.Options{})
	s := openSender(t, testConfig(ts.URL("smtp", "", "starttls=none")))
	before := time.Now().Add(-time.Second).Truncate(time.Second)
	if err := s.Send(testContext(t), simpleMessage("zero-date@shop.example")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	after := time.Now().Add(time.Second)
	date, err := parseMessage(t, ts.Messages()[0].Data).header.Date()
	if err != nil {
		t.Fatalf("Date: %v", err)
	}
	if date.Before(before) || date.After(after) {
		t.Errorf("Date = %v, want the time of sending (between %v and %v)", date, before, after)
	}
}

func TestSendTLSAndAuth(t *testing.T) {
	const user, pass = "mailer@shop.example", "p@ss:w/rd%&?"
	userinfo := "mailer%40shop.example:p%40ss%3Aw%2Frd%25%26%3F"
	tests := []struct {
		name     string
		server   smtptest.Options
		scheme   string
		userinfo string
		query    string // "{ca}" is replaced by the server's CA file
		wantMech string
		wantTLS  bool
	}{
		{
			name:   "STARTTLS required, AUTH PLAIN, ca_file",
			server: smtptest.Options{TLS: smtptest.TLSStartTLS, User: user, Pass: pass},
			scheme: "smtp", userinfo: userinfo, query: "auth=plain&ca_file={ca}",
			wantMech: sasl.Plain, wantTLS: true,
		},
		{
			name:   "STARTTLS required (default), AUTH LOGIN, ca_file",
			server: smtptest.Options{TLS: smtptest.TLSStartTLS, User: user, Pass: pass},
			scheme: "smtp", userinfo: userinfo, query: "auth=login&ca_file={ca}",
			wantMech: sasl.Login, wantTLS: true,
		},
		{
			name:   "auth=auto picks PLAIN",
			server: smtptest.Options{TLS: smtptest.TLSStartTLS, User: user, Pass: pass},
			scheme: "smtp", userinfo: userinfo, query: "starttls=required&ca_file={ca}",
			wantMech: sasl.Plain, wantTLS: true,
		},
		{
			name:   "auth=auto falls back to LOGIN",
			server: smtptest.Options{TLS: smtptest.TLSStartTLS, User: user, Pass: pass, Mechs: []string{sasl.Login}},
			scheme: "smtp", userinfo: userinfo, query: "ca_file={ca}",
			wantMech: sasl.Login, wantTLS: true,
		},
		{
			name:   "STARTTLS with insecure_skip_verify",
			server: smtptest.Options{TLS: smtptest.TLSStartTLS, User: user, Pass: pass},
			scheme: "smtp", userinfo: userinfo, query: "insecure_skip_verify=true",
			wantMech: sasl.Plain, wantTLS: true,
		},
		{
			name:   "smtps implicit TLS, ca_file",
			server: smtptest.Options{TLS: smtptest.TLSImplicit, User: user, Pass: pass},
			scheme: "smtps", userinfo: userinfo, query: "ca_file={ca}",
			wantMech: sasl.Plain, wantTLS: true,
		},
		{
			name:   "smtps implicit TLS, AUTH LOGIN, insecure_skip_verify",
			server: smtptest.Options{TLS: smtptest.TLSImplicit, User: user, Pass: pass},
			scheme: "smtps", userinfo: userinfo, query: "auth=login&insecure_skip_verify=true",
			wantMech: sasl.Login, wantTLS: true,
		},
		{
			name:   "STARTTLS opportunistic, offered",
			server: smtptest.Options{TLS: smtptest.TLSStartTLS},
			scheme: "smtp", query: "starttls=opportunistic&ca_file={ca}",
			wantTLS: true,
		},
		{
			name:   "STARTTLS opportunistic, not offered",
			server: smtptest.Options{TLS: smtptest.TLSOff},
			scheme: "smtp", query: "starttls=opportunistic",
			wantTLS: false,
		},
		{
			name:   "starttls=none with AUTH on localhost",
			server: smtptest.Options{TLS: smtptest.TLSOff, User: user, Pass: pass, InsecureAuth: true},
			scheme: "smtp", userinfo: userinfo, query: "starttls=none",
			wantMech: sasl.Plain, wantTLS: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := smtptest.Start(t, tt.server)
			query := strings.ReplaceAll(tt.query, "{ca}", caFileEscaped(ts))
			s := openSender(t, testConfig(ts.URL(tt.scheme, tt.userinfo, query)))
			for i := range 2 { // the second send reuses the authenticated connection
				if err := s.Send(testContext(t), simpleMessage(fmt.Sprintf("tls-%d@shop.example", i))); err != nil {
					t.Fatalf("Send %d: %v", i, err)
				}
			}
			msgs := ts.Messages()
			if len(msgs) != 2 {
				t.Fatalf("server got %d messages, want 2", len(msgs))
			}
			for _, m := range msgs {
				if m.TLS != tt.wantTLS {
					t.Errorf("TLS = %v, want %v", m.TLS, tt.wantTLS)
				}
				if m.AuthMech != tt.wantMech {
					t.Errorf("AUTH mechanism = %q, want %q", m.AuthMech, tt.wantMech)
				}
				if tt.wantMech != "" && m.AuthUser != user {
					t.Errorf("AUTH user = %q, want %q", m.AuthUser, user)
				}
			}
			if n := ts.Connections(); n != 1 {
				t.Errorf("server saw %d connections, want 1", n)
			}
		})
	}
}

func TestSendConnectionErrorsAreTransient(t *testing.T) {
	const user, pass = "mailer", "secret-Passw0rd"
	tests := []struct {
		name     string
		server   smtptest.Options
		scheme   string
		userinfo string
		query    string
		want     []string // substrings of the error
		// login marks a refused login: ErrLoginRefused and ErrUnavailable, so emails wait for
		// the operator's fix instead of spending their retries.
		login bool
	}{
		{
			name:   "starttls=required but not offered",
			server: smtptest.Options{TLS: smtptest.TLSOff},
			scheme: "smtp", query: "",
			want: []string{"does not offer STARTTLS", "starttls=required", "smtps://"},
		},
		{
			name:   "certificate from an unknown CA",
			server: smtptest.Options{TLS: smtptest.TLSStartTLS},
			scheme: "smtp", query: "",
			want: []string{"TLS certificate of mail server", "not trusted", "ca_file"},
		},
		{
			name:   "smtps certificate from an unknown CA",
			server: smtptest.Options{TLS: smtptest.TLSImplicit},
			scheme: "smtps", query: "",
			want: []string{"not trusted", "ca_file"},
		},
		{
			name:   "smtps against a plain SMTP server",
			server: smtptest.Options{TLS: smtptest.TLSOff},
			scheme: "smtps", query: "",
			want: []string{"TLS handshake with mail server", "smtps://"},
		},
		{
			name:   "wrong password",
			server: smtptest.Options{TLS: smtptest.TLSStartTLS, User: user, Pass: "another"},
			scheme: "smtp", userinfo: user + ":" + pass, query: "ca_file={ca}",
			want:  []string{"authentication failed: check the user and password in EVENTWORKER_MAIL_URL", "535"},
			login: true,
		},
		{
			name:   "wrong password with AUTH LOGIN",
			server: smtptest.Options{TLS: smtptest.TLSStartTLS, User: user, Pass: "another"},
			scheme: "smtp", userinfo: user + ":" + pass, query: "auth=login&ca_file={ca}",
			want:  []string{"authentication failed: check the user and password in EVENTWORKER_MAIL_URL", "535"},
			login: true,
		},
		{
			name:   "mechanism not offered",
			server: smtptest.Options{TLS: smtptest.TLSStartTLS, User: user, Pass: pass, Mechs: []string{sasl.Plain}},
			scheme: "smtp", userinfo: user + ":" + pass, query: "auth=login&ca_file={ca}",
			want: []string{"AUTH LOGIN", "offers AUTH PLAIN", "auth="},
		},
		{
			name:   "AUTH required but no user in the URL",
			server: smtptest.Options{TLS: smtptest.TLSStartTLS, User: user, Pass: pass},
			scheme: "smtp", query: "ca_file={ca}",
			want:  []string{"requires authentication", "530 5.7.0 Authentication required", "EVENTWORKER_MAIL_URL"},
			login: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := smtptest.Start(t, tt.server)
			query := strings.ReplaceAll(tt.query, "{ca}", caFileEscaped(ts))
			s := openSender(t, testConfig(ts.URL(tt.scheme, tt.userinfo, query)))
			err := s.Send(testContext(t), simpleMessage("fail@shop.example"))
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			if IsPermanent(err) {
				t.Errorf("IsPermanent(%v) = true, want a transient error", err)
			}
			// Each is the settings' fault, not the email's: the emails wait for the fix.
			if got := errors.Is(err, ErrLoginRefused); got != tt.login || errors.Is(err, ErrMisconfigured) == tt.login || !IsUnavailable(err) {
				t.Errorf("ErrLoginRefused %v, ErrMisconfigured %v, IsUnavailable %v for %v; want a refused login %v, else misconfigured, and unavailable",
					got, errors.Is(err, ErrMisconfigured), IsUnavailable(err), err, tt.login)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), pass) {
				t.Errorf("error %q contains the password", err)
			}
			if n := len(ts.Messages()); n != 0 {
				t.Errorf("server got %d messages, want 0", n)
			}
		})
	}
}

func TestOpenDoesNotConnect(t *testing.T) {
	// A port nothing listens on: take one and free it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()

	s := openSender(t, testConfig("smtp://"+addr+"?starttls=none"))
	err = s.Send(testContext(t), simpleMessage("down@shop.example"))
	if err == nil {
		t.Fatal("Send to a server that is down succeeded")
	}
	if IsPermanent(err) {
		t.Errorf("IsPermanent(%v) = true, want transient", err)
	}
	if !strings.Contains(err.Error(), "connecting to mail server "+addr) {
		t.Errorf("error %q does not name the server", err)
	}

	// The server comes up: the same sender now delivers.
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	ts := smtptest.Serve(t, ln2, smtptest.Options{})
	if err := s.Send(testContext(t), simpleMessage("up@shop.example")); err != nil {
		t.Fatalf("Send after the server came up: %v", err)
	}
	if n := len(ts.Messages()); n != 1 {
		t.Errorf("server got %d messages, want 1", n)
	}
}

func TestSendReusesOneConnection(t *testing.T) {
	ts := smtptest.Start(t, smtptest.Options{TLS: smtptest.TLSStartTLS})
	s := openSender(t, testConfig(ts.URL("smtp", "", "ca_file="+caFileEscaped(ts))))
	const n = 50
	for i := range n {
		if err := s.Send(testContext(t), simpleMessage(fmt.Sprintf("reuse-%d@shop.example", i))); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	if got := len(ts.Messages()); got != n {
		t.Errorf("server got %d messages, want %d", got, n)
	}
	if c := ts.Connections(); c != 1 {
		t.Errorf("server saw %d connections, want 1", c)
	}
	for i, m := range ts.Messages() {
		want := fmt.Sprintf("<reuse-%d@shop.example>", i)
		if id := parseMessage(t, m.Data).header.Get("Message-Id"); id != want {
			t.Errorf("message %d has Message-ID %q, want %q", i, id, want)
		}
		if len(m.To) != 1 {
			t.Errorf("message %d has %d envelope recipients, want 1 (state leaked between emails)", i, len(m.To))
		}
	}
}

func TestSendConcurrentSharesOneConnection(t *testing.T) {
	ts := smtptest.Start(t, smtptest.Options{})
	s := openSender(t, testConfig(ts.URL("smtp", "", "starttls=none")))
	const n = 20
	errs := make(chan error, n)
	for i := range n {
		go func() { errs <- s.Send(testContext(t), simpleMessage(fmt.Sprintf("conc-%d@shop.example", i))) }()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("Send: %v", err)
		}
	}
	if got := len(ts.Messages()); got != n {
		t.Errorf("server got %d messages, want %d", got, n)
	}
	if c := ts.Connections(); c != 1 {
		t.Errorf("server saw %d connections, want 1", c)
	}
}

func TestSendRedialsAfterServerClosedConnection(t *testing.T) {
	for _, mode := range []struct {
		name  string
		opts  smtptest.Options
		query func(*smtptest.Server) string
	}{
		{"plain", smtptest.Options{}, func(*smtptest.Server) string { return "starttls=none" }},
		{"STARTTLS+AUTH", smtptest.Options{TLS: smtptest.TLSStartTLS, User: "u", Pass: "p"}, func(ts *smtptest.Server) string { return "ca_file=" + caFileEscaped(ts) }},
	} {
		t.Run(mode.name, func(t *testing.T) {
			ts := smtptest.Start(t, mode.opts)
			userinfo := ""
			if mode.opts.User != "" {
				userinfo = "u:p"
			}
			s := openSender(t, testConfig(ts.URL("smtp", userinfo, mode.query(ts))))
			const n = 4
			for i := range n {
				if err := s.Send(testContext(t), simpleMessage(fmt.Sprintf("drop-%d@shop.example", i))); err != nil {
					t.Fatalf("Send %d: %v", i, err)
				}
				ts.DropConnections() // the server hangs up on the idle client
			}
			msgs := ts.Messages()
			if len(msgs) != n {
				t.Fatalf("server got %d messages, want %d (each exactly once)", len(msgs), n)
			}
			for i, m := range msgs {
				want := fmt.Sprintf("<drop-%d@shop.example>", i)
				if id := parseMessage(t, m.Data).header.Get("Message-Id"); id != want {
					t.Errorf("message %d has Message-ID %q, want %q", i, id, want)
				}
			}
			if c := ts.Connections(); c != n {
				t.Errorf("server saw %d connections, want %d (one per email)", c, n)
			}
		})
	}
}

func TestSendTemporaryFailureIsTransient(t *testing.T) {
	tests := []struct {
		stage string
		code  int
		enh   smtptest.EnhancedCode
		msg   string
	}{
		{"rcpt", 451, smtptest.EnhancedCode{4, 3, 0}, "Greylisted, try again later"},
		{"data", 452, smtptest.EnhancedCode{4, 3, 1}, "Mailbox full for now"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %d", tt.stage, tt.code), func(t *testing.T) {
			ts := smtptest.Start(t, smtptest.Options{})
			s := openSender(t, testConfig(ts.URL("smtp", "", "starttls=none")))
			m := simpleMessage("temp@shop.example")
			// Warm the connection, so that the failure hits a reused one: a 4xx is a reply,
			// not a stale connection, and must not be retried within the Send.
			if err := s.Send(testContext(t), simpleMessage("warm@shop.example")); err != nil {
				t.Fatalf("first Send: %v", err)
			}
			ts.FailNext(tt.stage, 1, tt.code, tt.enh, tt.msg)
			err := s.Send(testContext(t), m)
			if err == nil {
				t.Fatal("Send succeeded, want the server's temporary failure")
			}
			if IsPermanent(err) || errors.Is(err, ErrRejected) {
				t.Errorf("IsPermanent(%v) = true, want transient", err)
			}
			wantReply := fmt.Sprintf("%d %d.%d.%d %s", tt.code, tt.enh[0], tt.enh[1], tt.enh[2], tt.msg)
			if !strings.Contains(err.Error(), wantReply) {
				t.Errorf("error %q does not contain the server's reply %q", err, wantReply)
			}
			if n := len(ts.Messages()); n != 1 {
				t.Fatalf("server got %d messages after the failure, want 1 (the warm-up)", n)
			}
			if err := s.Send(testContext(t), m); err != nil {
				t.Fatalf("second Send: %v", err)
			}
			var ids []string
			for _, r := range ts.Messages() {
				ids = append(ids, parseMessage(t, r.Data).header.Get("Message-Id"))
			}
			if want := []string{"<warm@shop.example>", "<temp@shop.example>"}; !slices.Equal(ids, want) {
				t.Errorf("server got %q, want %q (the email exactly once)", ids, want)
			}
		})
	}
}

// A 421 reply means the server is closing the connection: on a reused connection, before the
// server saw the content, the Send retries once on a new connection.
func TestSend421OnReusedConnectionIsRetried(t *testing.T) {
	for _, stage := range []string{"rcpt", "data"} {
		t.Run(stage, func(t *testing.T) {
			ts := smtptest.Start(t, smtptest.Options{})
			s := openSender(t, testConfig(ts.URL("smtp", "", "starttls=none")))
			if err := s.Send(testContext(t), simpleMessage("warm@shop.example")); err != nil {
				t.Fatalf("first Send: %v", err)
			}
			if stage == "rcpt" {
				ts.FailNext("rcpt", 1, 421, smtptest.EnhancedCode{4, 4, 2}, "Idle timeout, bye bye")
			} else {
				// go-smtp answers DATA's content, not the DATA command: a 421 there is after
				// the content and must not be retried.
				ts.FailNext("data", 1, 421, smtptest.EnhancedCode{4, 4, 2}, "Shutting down")
			}
			err := s.Send(testContext(t), simpleMessage("retry@shop.example"))
			n := len(ts.Messages())
			switch stage {
			case "rcpt":
				if err != nil {
					t.Fatalf("Send = %v, want a transparent retry on a new connection", err)
				}
				if n != 2 || ts.Connections() != 2 {
					t.Errorf("server got %d messages over %d connections, want 2 over 2", n, ts.Connections())
				}
			case "data":
				if err == nil || IsPermanent(err) {
					t.Fatalf("Send = %v, want a transient error (no retry after the content was sent)", err)
				}
				if n != 1 {
					t.Errorf("server got %d messages, want 1 (the warm-up)", n)
				}
			}
		})
	}
}

func TestSendPermanentRejection(t *testing.T) {
	tests := []struct {
		stage     string
		code      int
		enh       smtptest.EnhancedCode
		msg       string
		wantReply string
	}{
		{"rcpt", 550, smtptest.EnhancedCode{5, 1, 1}, "<x@y>: user unknown", "550 5.1.1 <x@y>: user unknown"},
		{"data", 554, smtptest.EnhancedCode{5, 7, 1}, "Message rejected as spam", "554 5.7.1 Message rejected as spam"},
	}
	for _, tt := range tests {
		t.Run(tt.stage, func(t *testing.T) {
			ts := smtptest.Start(t, smtptest.Options{})
			s := openSender(t, testConfig(ts.URL("smtp", "", "starttls=none")))
			ts.FailNext(tt.stage, 1, tt.code, tt.enh, tt.msg)
			err := s.Send(testContext(t), simpleMessage("rejected@shop.example"))
			if err == nil {
				t.Fatal("Send succeeded, want a rejection")
			}
			if !IsPermanent(err) || !errors.Is(err, ErrRejected) {
				t.Errorf("IsPermanent(%v) = false, want a permanent ErrRejected", err)
			}
			if want := "mail rejected by server: " + tt.wantReply; err.Error() != want {
				t.Errorf("error = %q, want %q", err, want)
			}
			if n := len(ts.Messages()); n != 0 {
				t.Errorf("server stored %d messages, want 0", n)
			}
			// The next email goes out (on a new connection).
			if err := s.Send(testContext(t), simpleMessage("next@shop.example")); err != nil {
				t.Fatalf("Send after the rejection: %v", err)
			}
			if n := len(ts.Messages()); n != 1 {
				t.Errorf("server got %d messages, want 1", n)
			}
		})
	}
}

func TestRateLimitIsWired(t *testing.T) {
	ts := smtptest.Start(t, smtptest.Options{})
	cfg := testConfig(ts.URL("smtp", "", "starttls=none"))
	cfg.Rate = 0.001 // one email per 1000 s after the burst
	cfg.Burst = 1
	s := openSender(t, cfg)
	if err := s.Send(testContext(t), simpleMessage("rate-1@shop.example")); err != nil {
		t.Fatalf("first Send (the burst): %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := s.Send(ctx, simpleMessage("rate-2@shop.example"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send under the rate limit with a short deadline = %v, want context.DeadlineExceeded", err)
	}
	if IsPermanent(err) {
		t.Errorf("IsPermanent(%v) = true, want transient", err)
	}

	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	if err := s.Send(cctx, simpleMessage("rate-3@shop.example")); !errors.Is(err, context.Canceled) {
		t.Errorf("Send with a cancelled context = %v, want context.Canceled", err)
	}
	if n := len(ts.Messages()); n != 1 {
		t.Errorf("server got %d messages, want 1", n)
	}
}

// silentServer accepts connections and never answers, like a stuck relay.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns := make(chan net.Conn, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
		close(conns)
		for c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

func TestSendHonoursContextAndTimeout(t *testing.T) {
	addr := silentServer(t)

	t.Run("caller deadline", func(t *testing.T) {
		s := openSender(t, testConfig("smtp://"+addr+"?starttls=none")) // Timeout: 10s
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		err := s.Send(ctx, simpleMessage("stuck@shop.example"))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Send = %v, want context.DeadlineExceeded", err)
		}
		if IsPermanent(err) {
			t.Errorf("IsPermanent(%v) = true, want transient", err)
		}
	})
	t.Run("caller cancels", func(t *testing.T) {
		s := openSender(t, testConfig("smtp://"+addr+"?starttls=none"))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() { // cancel while Send waits for the server's greeting (or before: same result)
			time.Sleep(100 * time.Millisecond)
			cancel()
		}()
		if err := s.Send(ctx, simpleMessage("stuck@shop.example")); !errors.Is(err, context.Canceled) {
			t.Errorf("Send = %v, want context.Canceled", err)
		}
	})
	t.Run("Config.Timeout", func(t *testing.T) {
		cfg := testConfig("smtp://" + addr + "?starttls=none")
		cfg.Timeout = 200 * time.Millisecond
		s := openSender(t, cfg)
		err := s.Send(testContext(t), simpleMessage("stuck@shop.example"))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Send = %v, want an error matching context.DeadlineExceeded", err)
		}
		if err != nil && !strings.Contains(err.Error(), "mail timeout of 200ms") {
			t.Errorf("error %q does not name the mail timeout", err)
		}
	})
}

func TestSendAfterClose(t *testing.T) {
	ts := smtptest.Start(t, smtptest.Options{})
	s, err := Open(context.Background(), testConfig(ts.URL("smtp", "", "starttls=none")))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(testContext(t), simpleMessage("before@shop.example")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.Send(testContext(t), simpleMessage("after@shop.example")); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
	if n := len(ts.Messages()); n != 1 {
		t.Errorf("server got %d messages, want 1", n)
	}
}
