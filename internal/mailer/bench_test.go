package mailer

import (
	"context"
	"fmt"
	"testing"

	"github.com/eventworker/eventworker/internal/smtptest"
)

// The benchmarks send to the in-process go-smtp server with STARTTLS and AUTH PLAIN, as to a
// submission relay: the reused connection pays the TCP, TLS and AUTH round trips once, a
// connection per email pays them every time.

func benchServer(b *testing.B) (*smtptest.Server, string) {
	b.Helper()
	ts := smtptest.Start(b, smtptest.Options{TLS: smtptest.TLSStartTLS, User: "u", Pass: "p"})
	return ts, ts.URL("smtp", "u:p", "ca_file="+caFileEscaped(ts))
}

func BenchmarkSendReusedConnection(b *testing.B) {
	ts, url := benchServer(b)
	s := openSender(b, testConfig(url))
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		if err := s.Send(ctx, simpleMessage(fmt.Sprintf("bench-%d@shop.example", i))); err != nil {
			b.Fatalf("Send: %v", err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "emails/s")
	if c := ts.Connections(); c != 1 {
		b.Errorf("server saw %d connections, want 1", c)
	}
}

func BenchmarkSendNewConnectionPerEmail(b *testing.B) {
	_, url := benchServer(b)
	ctx := context.Background()
	cfg := testConfig(url)
	for i := 0; b.Loop(); i++ {
		s, err := Open(ctx, cfg)
		if err != nil {
			b.Fatalf("Open: %v", err)
		}
		if err := s.Send(ctx, simpleMessage(fmt.Sprintf("bench-%d@shop.example", i))); err != nil {
			b.Fatalf("Send: %v", err)
		}
		if err := s.Close(); err != nil {
			b.Fatalf("Close: %v", err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "emails/s")
}
