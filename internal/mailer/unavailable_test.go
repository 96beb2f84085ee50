package mailer

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/eventworker/eventworker/internal/smtptest"
	"github.com/eventworker/eventworker/internal/testenv"
)

// A server that is down, or answers 421, is unavailable: a transient error that says the server,
// not the email, is the problem; the gauge follows it. Other transient errors are not.
func TestSendToServerDownIsUnavailable(t *testing.T) {
	ts := smtptest.Start(t, smtptest.Options{})
	metrics := NewMetrics(nil)
	cfg := testConfig(ts.URL("smtp", "", "starttls=none"))
	cfg.Metrics = metrics
	s := openSender(t, cfg)
	ctx := testContext(t)
	gauge := func() float64 { return testutil.ToFloat64(metrics.Unavailable) }

	if err := s.Send(ctx, simpleMessage("before@shop.example")); err != nil {
		t.Fatal(err)
	}
	ts.Stop()
	for i := range 2 { // the open connection is cut, then the dial is refused
		err := s.Send(ctx, simpleMessage("down@shop.example"))
		if !IsUnavailable(err) || IsPermanent(err) {
			t.Fatalf("Send %d to a stopped server = %v, want ErrUnavailable and transient", i, err)
		}
		if got := gauge(); got != 1 {
			t.Errorf("eventworker_mail_server_unavailable = %v while the server is down, want 1", got)
		}
	}
	ts.Restart(t)
	if err := s.Send(ctx, simpleMessage("after@shop.example")); err != nil {
		t.Fatalf("Send after the server is back: %v", err)
	}
	if got := gauge(); got != 0 {
		t.Errorf("eventworker_mail_server_unavailable = %v once an email went through, want 0", got)
	}
	if n := len(ts.Messages()); n != 2 {
		t.Errorf("server holds %d messages, want 2", n)
	}

	t.Run("421 is unavailable, 451 is not", func(t *testing.T) {
		for _, tt := range []struct {
			code        int
			unavailable bool
		}{{421, true}, {451, false}} {
			ts := smtptest.Start(t, smtptest.Options{})
			s := openSender(t, testConfig(ts.URL("smtp", "", "starttls=none")))
			ts.FailNext(smtptest.StageMail, 1, tt.code, smtptest.EnhancedCode{4, 3, 0}, "not now")
			err := s.Send(ctx, simpleMessage("busy@shop.example"))
			if err == nil || IsPermanent(err) || IsUnavailable(err) != tt.unavailable {
				t.Errorf("%d to MAIL FROM: Send = %v, IsUnavailable %v, want %v and transient", tt.code, err, IsUnavailable(err), tt.unavailable)
			}
		}
	})
	t.Run("nothing listening", func(t *testing.T) {
		ts := smtptest.Start(t, smtptest.Options{})
		ts.Stop()
		s := openSender(t, testConfig(ts.URL("smtp", "", "starttls=none")))
		err := s.Send(ctx, simpleMessage("refused@shop.example"))
		if !IsUnavailable(err) || !errors.Is(err, ErrUnavailable) {
			t.Errorf("Send with nothing listening = %v, want ErrUnavailable", err)
		}
	})
}

// TestRefusedLoginAfterAnOutageIsStillSaid: the server is down first (a WARN), then comes back
// refusing the login: the ERROR that says what to fix is logged all the same, once.
func TestRefusedLoginAfterAnOutageIsStillSaid(t *testing.T) {
	ts := smtptest.Start(t, smtptest.Options{TLS: smtptest.TLSStartTLS, User: "mailer", Pass: "the-right-one"})
	var logs testenv.SyncBuffer
	cfg := testConfig(ts.URL("smtp", "mailer:wrong", "ca_file="+caFileEscaped(ts)))
	cfg.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	s := openSender(t, cfg)
	ts.Stop()
	if err := s.Send(testContext(t), simpleMessage("down@shop.example")); !IsUnavailable(err) {
		t.Fatalf("Send while the server is down = %v, want unavailable", err)
	}
	ts.Restart(t)
	for i := range 2 {
		if err := s.Send(testContext(t), simpleMessage(fmt.Sprintf("refused-%d@shop.example", i))); !errors.Is(err, ErrLoginRefused) {
			t.Fatalf("Send with a wrong password = %v, want ErrLoginRefused", err)
		}
	}
	if n := strings.Count(logs.String(), `"level":"ERROR"`); n != 1 || !strings.Contains(logs.String(), "refused the worker's login") {
		t.Errorf("%d ERROR lines, want exactly one about the refused login:\n%s", n, logs.String())
	}
}
