package bench

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/eventworker/eventworker/internal/mailer"
)

// sink is a local SMTP server that accepts every email and discards it.
type sink struct {
	srv   *smtp.Server
	ln    net.Listener
	conns atomic.Int64
	mails atomic.Int64
}

func startSink() (*sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &sink{ln: ln}
	s.srv = smtp.NewServer(s)
	s.srv.Domain = "sink.bench"
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.ReadTimeout = 30 * time.Second
	s.srv.WriteTimeout = 30 * time.Second
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the mail URL of the sink, without TLS.
func (s *sink) URL() string { return "smtp://" + s.ln.Addr().String() + "?starttls=none" }

func (s *sink) Close() error { return s.srv.Close() }

// NewSession implements smtp.Backend.
func (s *sink) NewSession(*smtp.Conn) (smtp.Session, error) {
	s.conns.Add(1)
	return &sinkSession{s: s}, nil
}

type sinkSession struct{ s *sink }

func (*sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (*sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (ss *sinkSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	ss.s.mails.Add(1)
	return nil
}
func (*sinkSession) Reset()        {}
func (*sinkSession) Logout() error { return nil }

// sendEmails sends n emails through the worker's mailer (one reused connection, no rate
// limit) to the sink and times them.
func sendEmails(ctx context.Context, s *sink, n int) (*EmailRun, error) {
	before := s.conns.Load()
	sender, err := mailer.Open(ctx, mailer.Config{URL: s.URL(), Timeout: 10 * time.Second, Logger: discardLogger})
	if err != nil {
		return nil, err
	}
	defer sender.Close()
	start := time.Now()
	for i := range n {
		msg := &mailer.Message{
			From:    mailer.Address{Name: "Acme", Email: "shop@shop.example"},
			To:      []mailer.Address{{Email: fmt.Sprintf("customer-%d@example.com", i)}},
			Subject: "Your order bench-o" + fmt.Sprint(i), Text: "Thank you for your order.",
			HTML: "<p>Thank you for your order.</p>", MessageID: fmt.Sprintf("bench-%d@shop.example", i), Template: "order_created",
		}
		if err := sender.Send(ctx, msg); err != nil {
			return nil, fmt.Errorf("email %d: %w", i, err)
		}
	}
	secs := time.Since(start).Seconds()
	return &EmailRun{Emails: n, Seconds: secs, PerSecond: Ratio(float64(n), secs), Connections: int(s.conns.Load() - before)}, nil
}
