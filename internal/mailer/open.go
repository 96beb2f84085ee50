package mailer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	mail "github.com/wneessen/go-mail"
	"golang.org/x/time/rate"
)

// backend is what a URL scheme does with a valid email; sender does the rest.
type backend interface {
	// deliver sends or stores msg, built from m, and says how long of it was spent waiting for
	// a free connection; its errors are classified already.
	deliver(ctx context.Context, m *Message, msg *mail.Msg) (waited time.Duration, err error)
	close() error
}

// Open returns the Sender for cfg.URL:
//
//   - smtp://user:pass@host:587 submits over SMTP, upgraded with STARTTLS (default port 587);
//   - smtps://user:pass@host:465 submits over implicit TLS (default port 465);
//   - file://DIR writes one .eml file per email into DIR (file:///var/mail/out, file://./out),
//     named after its Message-ID, so a resend overwrites the same file; DIR is created if missing;
//   - log:// logs one summary line per email: IDs, subject and recipient domains, no body and no
//     address.
//
// The user and password are the URL's userinfo, percent-decoded. smtp:// and smtps:// take these
// query parameters:
//
//   - starttls=required|opportunistic|none (smtp:// only; default required): whether the
//     connection must, may or must not be upgraded with STARTTLS;
//   - ca_file=/path/ca.pem: trust the CAs in this PEM file instead of the system's;
//   - insecure_skip_verify=true: do not verify the server's certificate (tests only; Open warns);
//   - auth=plain|login|auto: the AUTH mechanism; default auto (PLAIN if offered, else LOGIN) when
//     the URL has a user, and no AUTH without one;
//   - helo=name: the EHLO name; default the host's name.
//
// Open does not connect: the SMTP server may be down while the worker starts, and the first
// Send connects. It fails for an invalid Config, a bad URL or an unreadable ca_file.
func Open(ctx context.Context, cfg Config) (Sender, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("opening the mail sender: %w", err)
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ep, err := parseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	var b backend
	switch ep.scheme {
	case schemeSMTP, schemeSMTPS:
		b, err = openPool(cfg, ep)
	case schemeFile:
		b, err = openFile(ep)
	default:
		b = &logSender{log: cfg.Logger}
	}
	if err != nil {
		return nil, err
	}
	s := &sender{backend: b, metrics: cfg.Metrics, log: cfg.Logger, bounce: cfg.Bounce, redirect: cfg.Redirect}
	if cfg.TracerProvider != nil {
		s.spans = newSpans(cfg.TracerProvider, ep)
	}
	if cfg.Rate > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(cfg.Rate), cfg.Burst)
	}
	cfg.Logger.Info("mail: sender ready", ep.logAttrs(cfg)...)
	return s, nil
}

// sender is the Sender of every back end: it validates and builds the email, waits for the
// rate limit, delivers through the back end and records the metrics.
type sender struct {
	backend backend
	limiter *rate.Limiter // nil: unlimited
	metrics *Metrics      // nil: none
	log     *slog.Logger
	// bounce is the envelope sender, redirect the one recipient of every email; empty: none.
	bounce, redirect string
	// spans, when not nil, traces every delivery.
	spans  *spans
	closed atomic.Bool
	// down is set while the mail server is unavailable, and loginRefused while that is because
	// it refuses the worker's login or settings (ErrLoginRefused, ErrMisconfigured), to log only
	// when either changes.
	down, loginRefused atomic.Bool
}

// Send validates m, waits for its turn under the rate limit and delivers it.
func (s *sender) Send(ctx context.Context, m *Message) error {
	template := ""
	if m != nil {
		template = m.Template
	}
	err := s.send(ctx, m, template)
	if err != nil {
		s.metrics.failed(template, err)
		if IsUnavailable(err) {
			s.metrics.unavailable(true)
			wasDown := s.down.Swap(true)
			switch {
			case errors.Is(err, ErrLoginRefused), errors.Is(err, ErrMisconfigured):
				// Not an outage that ends by itself: someone must fix the settings. Said even
				// when the server was down before for another reason.
				if !s.loginRefused.Swap(true) {
					what := "the mail server refused the worker's login"
					if errors.Is(err, ErrMisconfigured) {
						what = "the worker cannot talk to the mail server as EVENTWORKER_MAIL_URL says"
					}
					s.log.Error("mail: "+what+"; emails wait, unsent, until EVENTWORKER_MAIL_URL is fixed", "error", err.Error())
				}
			case !wasDown:
				s.log.Warn("mail: the mail server is unavailable; emails are retried until it is back", "error", err.Error())
			}
		}
		return err
	}
	s.metrics.sent(template)
	s.loginRefused.Store(false)
	if s.down.Swap(false) {
		s.metrics.unavailable(false)
		s.log.Info("mail: the mail server is available again")
	}
	return nil
}

func (s *sender) send(ctx context.Context, m *Message, template string) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if m == nil {
		return fmt.Errorf("%w: the message is nil", ErrInvalidMessage)
	}
	// Validation first: an email that can never go out must not take a token from the limiter.
	msg, err := buildMsg(m, time.Now())
	if err != nil {
		return err
	}
	if s.redirect != "" {
		// The back end sees the redirected email: the file's name, the log line's recipients.
		m = redirected(m, s.redirect)
		if msg, err = buildMsg(m, time.Now()); err != nil {
			return err
		}
	}
	if s.bounce != "" {
		if err := msg.EnvelopeFrom(s.bounce); err != nil {
			return fmt.Errorf("%w: bounce address: %v", ErrInvalidMessage, err)
		}
	}
	if err := s.wait(ctx); err != nil {
		return err
	}
	ctx, span := s.spans.start(ctx, template)
	start := time.Now()
	waited, err := s.backend.deliver(ctx, m, msg)
	s.spans.end(span, waited, err)
	_, pooled := s.backend.(*pool)
	s.metrics.observe(template, pooled, waited, time.Since(start)-waited)
	return err
}

// wait blocks until the rate limit lets one more email out. Limiter.Wait fails at once, with an
// error of its own, when the wait would outlast the context's deadline; that is reported as the
// deadline it is.
func (s *sender) wait(ctx context.Context) error {
	if s.limiter == nil {
		return nil
	}
	if err := s.limiter.Wait(ctx); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("waiting for the mail rate limit: %w", cerr)
		}
		return fmt.Errorf("waiting for the mail rate limit (%g emails/s): the wait would outlast the context's deadline: %w",
			float64(s.limiter.Limit()), context.DeadlineExceeded)
	}
	return nil
}

// Close closes the back end; a Send after it returns ErrClosed. It waits for a Send in progress.
func (s *sender) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.backend.close()
}

// logAttrs describe the back end for the log, without the password.
func (e *endpoint) logAttrs(cfg Config) []any {
	attrs := []any{"backend", e.scheme, "rate", cfg.Rate, "burst", cfg.Burst, "timeout", cfg.Timeout}
	switch e.scheme {
	case schemeSMTP, schemeSMTPS:
		attrs = append(attrs, "server", e.addr(), "user", e.user, "auth", e.auth)
		if e.scheme == schemeSMTP {
			attrs = append(attrs, "starttls", e.startTLS)
		}
		if e.caFile != "" {
			attrs = append(attrs, "ca_file", e.caFile)
		}
	case schemeFile:
		attrs = append(attrs, "dir", e.dir)
	}
	return attrs
}

// Check reports everything Open would refuse of cfg (its settings, every problem of the URL,
// an unreadable ca_file), without opening anything: for a check of the whole configuration
// before the worker starts.
func Check(cfg Config) error {
	cfg.setDefaults()
	err := cfg.Validate() // the URL's problems included
	if ep, perr := parseURL(cfg.URL); perr == nil && (ep.scheme == schemeSMTP || ep.scheme == schemeSMTPS) {
		_, terr := tlsConfig(ep)
		err = errors.Join(err, terr)
	}
	return err
}

// redirected is m sent to the one address to instead, saying in a header whom it was for.
func redirected(m *Message, to string) *Message {
	r := *m
	orig := make([]string, len(m.To))
	for i, a := range m.To {
		orig[i] = a.Email
	}
	r.To = []Address{{Email: to}}
	r.originalTo = strings.Join(orig, ", ")
	return &r
}
