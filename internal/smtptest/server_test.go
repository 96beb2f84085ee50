package smtptest_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/eventworker/eventworker/internal/smtptest"
)

// The server is driven with go-smtp's client, which is independent of the server's code paths.

const body = "From: a@example.com\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nHello\r\n"

// tlsConfig trusts only the server's CA.
func tlsConfig(t *testing.T, srv *smtptest.Server) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(srv.CAFile())
	if err != nil {
		t.Fatalf("reading CAFile %q: %v", srv.CAFile(), err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("CAFile %q holds no PEM certificate", srv.CAFile())
	}
	return &tls.Config{RootCAs: pool, ServerName: srv.Host(), MinVersion: tls.VersionTLS12}
}

// dial connects as the server's mode requires and closes the client when the test ends.
func dial(t *testing.T, srv *smtptest.Server, mode smtptest.Mode) *smtp.Client {
	t.Helper()
	var c *smtp.Client
	var err error
	switch mode {
	case smtptest.TLSOff:
		c, err = smtp.Dial(srv.Addr())
	case smtptest.TLSStartTLS:
		c, err = smtp.DialStartTLS(srv.Addr(), tlsConfig(t, srv))
	case smtptest.TLSImplicit:
		c, err = smtp.DialTLS(srv.Addr(), tlsConfig(t, srv))
	}
	if err != nil {
		t.Fatalf("dial %s: %v", srv.Addr(), err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func send(c *smtp.Client, from string, to ...string) error {
	return c.SendMail(from, to, strings.NewReader(body))
}

func TestDeliveryRecordsEnvelopeAndData(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	if host, port, _ := net.SplitHostPort(srv.Addr()); host != "127.0.0.1" || srv.Host() != host || srv.Port() != port || port == "0" {
		t.Errorf("Addr %q, Host %q, Port %q: want 127.0.0.1 and a real port", srv.Addr(), srv.Host(), srv.Port())
	}
	if srv.CAFile() != "" {
		t.Errorf("CAFile = %q for a server without TLS, want \"\"", srv.CAFile())
	}
	c := dial(t, srv, smtptest.TLSOff)
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("a TLSOff server offers STARTTLS")
	}
	for i := range 3 {
		if err := send(c, fmt.Sprintf("a%d@example.com", i), "b@example.org", "c@example.net"); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	msgs := srv.Messages()
	if len(msgs) != 3 {
		t.Fatalf("Messages() has %d, want 3", len(msgs))
	}
	for i, m := range msgs {
		want := smtptest.Received{From: fmt.Sprintf("a%d@example.com", i), To: []string{"b@example.org", "c@example.net"}}
		if m.From != want.From || !slices.Equal(m.To, want.To) || m.TLS || m.AuthUser != "" || m.AuthMech != "" {
			t.Errorf("message %d = %+v, want envelope %s -> %v without TLS or AUTH", i, m, want.From, want.To)
		}
		if string(m.Data) != body {
			t.Errorf("message %d data = %q, want %q", i, m.Data, body)
		}
	}
	if n := srv.Connections(); n != 1 {
		t.Errorf("Connections() = %d, want 1", n)
	}
	// Messages returns a copy: appending to it does not change the server's list.
	_ = append(msgs, smtptest.Received{})
	if n := len(srv.Messages()); n != 3 {
		t.Errorf("Messages() has %d after the caller appended to a copy, want 3", n)
	}
}

func TestTLSAndAuth(t *testing.T) {
	const user, pass = "mailer@shop.example", "s3cret"
	tests := []struct {
		name     string
		opts     smtptest.Options
		auth     sasl.Client // nil: no AUTH
		wantMech string
		wantTLS  bool
		wantCode int // the SMTP reply code of the refusal, 0 for success
	}{
		{"STARTTLS, AUTH PLAIN", smtptest.Options{TLS: smtptest.TLSStartTLS, User: user, Pass: pass}, sasl.NewPlainClient("", user, pass), sasl.Plain, true, 0},
		{"STARTTLS, AUTH LOGIN", smtptest.Options{TLS: smtptest.TLSStartTLS, User: user, Pass: pass}, sasl.NewLoginClient(user, pass), sasl.Login, true, 0},
		{"implicit TLS, AUTH PLAIN", smtptest.Options{TLS: smtptest.TLSImplicit, User: user, Pass: pass}, sasl.NewPlainClient("", user, pass), sasl.Plain, true, 0},
		{"implicit TLS, no AUTH", smtptest.Options{TLS: smtptest.TLSImplicit}, nil, "", true, 0},
		{"plain, AUTH allowed without TLS", smtptest.Options{User: user, Pass: pass, InsecureAuth: true}, sasl.NewPlainClient("", user, pass), sasl.Plain, false, 0},
		{"wrong password", smtptest.Options{TLS: smtptest.TLSStartTLS, User: user, Pass: pass}, sasl.NewPlainClient("", user, "other"), "", true, 535},
		{"MAIL FROM before AUTH", smtptest.Options{TLS: smtptest.TLSStartTLS, User: user, Pass: pass}, nil, "", true, 530},
		{"mechanism not offered", smtptest.Options{TLS: smtptest.TLSStartTLS, User: user, Pass: pass, Mechs: []string{sasl.Plain}}, sasl.NewLoginClient(user, pass), "", true, 504},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, tt.opts)
			if (srv.CAFile() != "") != tt.wantTLS {
				t.Fatalf("CAFile() = %q for TLS mode %d", srv.CAFile(), tt.opts.TLS)
			}
			c := dial(t, srv, tt.opts.TLS)
			if _, ok := c.TLSConnectionState(); ok != tt.wantTLS {
				t.Fatalf("the client's connection is TLS: %v, want %v", ok, tt.wantTLS)
			}
			var err error
			if tt.auth != nil {
				err = c.Auth(tt.auth)
			}
			if err == nil {
				err = send(c, "a@example.com", "b@example.org")
			}
			if tt.wantCode != 0 {
				var se *smtp.SMTPError
				if !errors.As(err, &se) || se.Code != tt.wantCode {
					t.Fatalf("transaction error = %v, want an SMTP reply %d", err, tt.wantCode)
				}
				if n := len(srv.Messages()); n != 0 {
					t.Errorf("server stored %d messages after a refusal, want 0", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("transaction: %v", err)
			}
			msgs := srv.Messages()
			if len(msgs) != 1 {
				t.Fatalf("server stored %d messages, want 1", len(msgs))
			}
			m := msgs[0]
			if m.TLS != tt.wantTLS || m.AuthMech != tt.wantMech {
				t.Errorf("TLS %v, AUTH %q; want %v, %q", m.TLS, m.AuthMech, tt.wantTLS, tt.wantMech)
			}
			if wantUser := map[bool]string{true: user, false: ""}[tt.wantMech != ""]; m.AuthUser != wantUser {
				t.Errorf("AuthUser = %q, want %q", m.AuthUser, wantUser)
			}
		})
	}
	// A plain server refuses AUTH without InsecureAuth.
	t.Run("plain, AUTH refused without TLS", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Options{User: user, Pass: pass})
		c := dial(t, srv, smtptest.TLSOff)
		if err := c.Auth(sasl.NewPlainClient("", user, pass)); err == nil {
			t.Fatal("AUTH without TLS succeeded on a server without InsecureAuth")
		}
	})
}

func TestFailNext(t *testing.T) {
	for _, stage := range []string{smtptest.StageMail, smtptest.StageRcpt, smtptest.StageData} {
		t.Run(stage, func(t *testing.T) {
			srv := smtptest.Start(t, smtptest.Options{})
			c := dial(t, srv, smtptest.TLSOff)
			srv.FailNext(stage, 2, 451, smtptest.EnhancedCode{4, 3, 0}, "try again later")
			for i := range 2 {
				err := send(c, "a@example.com", "b@example.org")
				var se *smtp.SMTPError
				if !errors.As(err, &se) || se.Code != 451 || se.EnhancedCode != (smtptest.EnhancedCode{4, 3, 0}) || se.Message != "try again later" {
					t.Fatalf("send %d = %v, want 451 4.3.0 try again later", i, err)
				}
				if err := c.Reset(); err != nil {
					t.Fatalf("RSET: %v", err)
				}
			}
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("server stored %d failed messages, want 0", n)
			}
			if err := send(c, "a@example.com", "b@example.org"); err != nil {
				t.Fatalf("third send (the failures are used up): %v", err)
			}
			if n := len(srv.Messages()); n != 1 {
				t.Errorf("server stored %d messages, want 1", n)
			}
		})
	}
	t.Run("unknown stage panics", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Options{})
		defer func() {
			if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), `"helo"`) {
				t.Errorf("FailNext(\"helo\") recovered %v, want a panic naming the stage", r)
			}
		}()
		srv.FailNext("helo", 1, 550, smtptest.EnhancedCode{5, 0, 0}, "no")
	})
}

func TestDropConnections(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	c := dial(t, srv, smtptest.TLSOff)
	if err := send(c, "a@example.com", "b@example.org"); err != nil {
		t.Fatal(err)
	}
	srv.DropConnections()
	if err := c.Noop(); err == nil {
		t.Error("NOOP on a dropped connection succeeded")
	}
	c2 := dial(t, srv, smtptest.TLSOff)
	if err := send(c2, "a@example.com", "b@example.org"); err != nil {
		t.Fatalf("send on a new connection: %v", err)
	}
	if n, m := srv.Connections(), len(srv.Messages()); n != 2 || m != 2 {
		t.Errorf("Connections() = %d, messages %d; want 2 and 2", n, m)
	}
}

func TestServeOnOwnListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtptest.Serve(t, ln, smtptest.Options{})
	if srv.Addr() != ln.Addr().String() {
		t.Errorf("Addr() = %q, want the listener's %q", srv.Addr(), ln.Addr())
	}
	if got, want := srv.URL("smtp", "u:p", "starttls=none"), "smtp://u:p@"+ln.Addr().String()+"?starttls=none"; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
	if got, want := srv.URL("smtps", "", ""), "smtps://"+ln.Addr().String(); got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
	if err := send(dial(t, srv, smtptest.TLSOff), "a@example.com", "b@example.org"); err != nil {
		t.Fatal(err)
	}
}

// fatalTB records Fatalf instead of ending the test, to test a failing WaitMessages.
type fatalTB struct {
	testing.TB
	mu     sync.Mutex
	failed string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed = fmt.Sprintf(format, args...)
}

func TestWaitMessages(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	c := dial(t, srv, smtptest.TLSOff)
	errs := make(chan error, 1)
	go func() {
		time.Sleep(100 * time.Millisecond)
		errs <- send(c, "late@example.com", "b@example.org")
	}()
	msgs := srv.WaitMessages(t, 1, 30*time.Second)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].From != "late@example.com" {
		t.Errorf("WaitMessages = %+v, want the late message", msgs)
	}

	fake := &fatalTB{TB: t}
	if got := srv.WaitMessages(fake, 2, 50*time.Millisecond); len(got) != 1 {
		t.Errorf("WaitMessages after the timeout returned %d messages, want the 1 there is", len(got))
	}
	if !strings.Contains(fake.failed, "accepted 1 messages") || !strings.Contains(fake.failed, "want 2") {
		t.Errorf("WaitMessages timeout failed the test with %q, want a message with the counts", fake.failed)
	}
}

func TestStopAndRestart(t *testing.T) {
	for _, mode := range []smtptest.Mode{smtptest.TLSOff, smtptest.TLSImplicit} {
		t.Run(fmt.Sprint("mode ", mode), func(t *testing.T) {
			srv := smtptest.Start(t, smtptest.Options{TLS: mode})
			addr := srv.Addr()
			before := dial(t, srv, mode)
			if err := send(before, "first@example.com", "b@example.org"); err != nil {
				t.Fatal(err)
			}
			// A transaction under way when the server stops is cut off and not stored.
			open := dial(t, srv, mode)
			if err := open.Mail("cut@example.com", nil); err != nil {
				t.Fatal(err)
			}
			if err := open.Rcpt("b@example.org", nil); err != nil {
				t.Fatal(err)
			}
			wc, err := open.Data()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := wc.Write([]byte("Subject: cut\r\n\r\nhalf")); err != nil {
				t.Fatal(err)
			}

			srv.Stop()
			srv.Stop() // twice is harmless
			if err := wc.Close(); err == nil {
				t.Error("finishing DATA on a stopped server succeeded")
			}
			if err := before.Noop(); err == nil {
				t.Error("NOOP on a connection of the stopped server succeeded")
			}
			if c, err := net.DialTimeout("tcp", addr, 5*time.Second); err == nil {
				c.Close()
				t.Fatal("a stopped server accepted a TCP connection")
			} else if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("dial a stopped server: %v, want connection refused", err)
			}
			if n := len(srv.Messages()); n != 1 {
				t.Errorf("stopped server holds %d messages, want the 1 accepted before Stop", n)
			}

			srv.Restart(t)
			srv.Restart(t) // on a running server, nothing
			if srv.Addr() != addr {
				t.Errorf("Addr() after Restart = %q, want %q", srv.Addr(), addr)
			}
			if err := send(dial(t, srv, mode), "second@example.com", "b@example.org"); err != nil {
				t.Fatalf("send after Restart: %v", err)
			}
			msgs := srv.Messages()
			var from []string
			for _, m := range msgs {
				from = append(from, m.From)
			}
			if !slices.Equal(from, []string{"first@example.com", "second@example.com"}) {
				t.Errorf("messages after Restart from %v, want first@ (before Stop) then second@", from)
			}
			if n := srv.Connections(); n != 3 {
				t.Errorf("Connections() = %d, want 3", n)
			}
		})
	}
}
