package mailer

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// DefaultTimeout bounds one send (connect, TLS, AUTH and the SMTP transaction) when
// Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// DefaultBurst is the rate limiter's bucket size when Config.Burst is zero.
const DefaultBurst = 1

// Config configures Open. Zero values take the defaults noted on each field.
type Config struct {
	// URL is EVENTWORKER_MAIL_URL: smtp://user:pass@host:587?starttls=required,
	// smtps://user:pass@host:465, file://DIR or log://. See Open for the query parameters.
	URL string
	// Timeout bounds each Send after its turn came; default 30s. The caller's context applies
	// as well.
	Timeout time.Duration
	// Rate is the number of emails per second the process may send, shared by all goroutines
	// using the Sender; 0 means unlimited. The caller sets the daemon's default.
	Rate float64
	// Burst is how many emails may go out at once before Rate applies; default 1.
	Burst int
	// Connections is how many SMTP connections the sender keeps open and reuses, each carrying
	// one email at a time; default 1. More let concurrent handlers send in parallel.
	Connections int
	// Logger receives connection events and, for log://, the email summaries; default: discard.
	Logger *slog.Logger
	// Metrics, when not nil, receives sent, failed and duration observations for every back end.
	Metrics *Metrics
	// Bounce is the envelope sender (SMTP MAIL FROM, which receivers record as Return-Path):
	// where bounces go, apart from From. Empty: the From address.
	Bounce string
	// Redirect, when set, sends every email to this one address instead of its recipients, for
	// staging: To names it, and X-Eventworker-Original-To the addresses it was for.
	Redirect string
	// TracerProvider, when not nil, makes a span of every delivery to the back end ("smtp
	// send" for smtp:// and smtps://), a child of the caller's span; nil: no spans.
	TracerProvider trace.TracerProvider
}

// setDefaults fills the zero fields; negative values are left for Validate to report.
func (c *Config) setDefaults() {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Connections == 0 {
		c.Connections = 1
	}
	if c.Burst == 0 {
		c.Burst = DefaultBurst
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports every problem of the config at once. URL problems match ErrInvalidURL. The
// error never holds the URL's password.
func (c Config) Validate() error {
	var problems []error
	if _, err := parseURL(c.URL); err != nil {
		problems = append(problems, err)
	}
	if c.Timeout < 0 {
		problems = append(problems, fmt.Errorf("mail timeout %s is negative: use a positive duration such as 30s, or 0 for the default", c.Timeout))
	}
	if c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) {
		problems = append(problems, fmt.Errorf("mail rate %v is not usable: use a positive number of emails per second, or 0 for no limit", c.Rate))
	}
	if c.Connections < 0 || c.Connections > 64 {
		problems = append(problems, fmt.Errorf("mail connections %d is not between 1 and 64 (0 means 1)", c.Connections))
	}
	if c.Bounce != "" {
		if _, err := checkAddress("bounce address", Address{Email: c.Bounce}); err != nil {
			problems = append(problems, err)
		}
	}
	if c.Redirect != "" {
		if _, err := checkAddress("redirect address", Address{Email: c.Redirect}); err != nil {
			problems = append(problems, err)
		}
	}
	if c.Burst < 0 {
		problems = append(problems, fmt.Errorf("mail burst %d is negative: use a positive number, or 0 for the default of %d", c.Burst, DefaultBurst))
	}
	return errors.Join(problems...)
}
