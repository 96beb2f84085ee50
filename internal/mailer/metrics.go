package mailer

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Values of the reason label of eventworker_emails_failed_total.
const (
	ReasonPermanent = "permanent"
	ReasonTransient = "transient"
)

// sendBuckets of eventworker_email_send_duration_seconds: 5ms (a local relay on an open
// connection) to 30s (the default send timeout).
var sendBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Metrics counts the emails of the worker. Labels are bounded: template names come from code,
// never from an event; no address or ID becomes a label.
type Metrics struct {
	// Sent counts emails the back end accepted, by template.
	Sent *prometheus.CounterVec
	// Failed counts Sends that returned an error, by template and reason (ReasonPermanent when
	// IsPermanent, else ReasonTransient).
	Failed *prometheus.CounterVec
	// Suppressed counts emails the notifications handler decided not to send, by template; the
	// handler increments it, the Sender does not.
	Suppressed *prometheus.CounterVec
	// SendDuration observes the back end's delivery of each email, in seconds, by template:
	// from the moment it has a connection of its own (reopening it when the server closed it,
	// TLS and AUTH included) to the server's reply.
	SendDuration *prometheus.HistogramVec
	// ConnectionWait observes how long each email waited for a free SMTP connection, in
	// seconds, after the rate limit: a pool too small for the load shows here.
	ConnectionWait prometheus.Histogram
	// Unavailable is 1 while the mail server cannot be reached (the last Send that got as far
	// failed with ErrUnavailable) and 0 once a Send went through.
	Unavailable prometheus.Gauge
}

// NewMetrics builds the email metrics and registers them with reg; nil reg registers nothing.
// A metric that reg already holds under the same name and labels is reused, so two Senders may
// share one registry; a conflicting one (same name, other labels) leaves the new metric
// unregistered rather than panicking.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "eventworker", Name: "emails_sent_total",
			Help: "Emails the mail back end accepted, by template.",
		}, []string{"template"}),
		Failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "eventworker", Name: "emails_failed_total",
			Help: "Emails that could not be sent, by template and reason (permanent, transient).",
		}, []string{"template", "reason"}),
		Suppressed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "eventworker", Name: "emails_suppressed_total",
			Help: "Emails deliberately not sent (for example an opted-out recipient), by template.",
		}, []string{"template"}),
		SendDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "eventworker", Name: "email_send_duration_seconds",
			Help:    "Time the mail back end took to deliver an email, from the moment it had a connection of its own (reopening it, when needed, included).",
			Buckets: sendBuckets,
		}, []string{"template"}),
		ConnectionWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "eventworker", Name: "email_connection_wait_seconds",
			Help:    "Time an email waited for a free SMTP connection (EVENTWORKER_MAIL_CONNECTIONS) before its send began.",
			Buckets: sendBuckets,
		}),
		Unavailable: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "eventworker", Name: "mail_server_unavailable",
			Help: "1 while the mail server cannot be reached (connection refused or 421) and emails wait for it, 0 once an email went through.",
		}),
	}
	if reg != nil {
		m.Sent = register(reg, m.Sent)
		m.Failed = register(reg, m.Failed)
		m.Suppressed = register(reg, m.Suppressed)
		m.SendDuration = register(reg, m.SendDuration)
		m.ConnectionWait = register(reg, m.ConnectionWait)
		m.Unavailable = register(reg, m.Unavailable)
	}
	return m
}

// register registers c, or returns the collector reg already holds in its place.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(C); ok {
			return existing
		}
	}
	return c
}

// The methods below accept a nil *Metrics, the Config without metrics.

func (m *Metrics) sent(template string) {
	if m != nil {
		m.Sent.WithLabelValues(template).Inc()
	}
}

func (m *Metrics) failed(template string, err error) {
	if m == nil {
		return
	}
	reason := ReasonTransient
	if IsPermanent(err) {
		reason = ReasonPermanent
	}
	m.Failed.WithLabelValues(template, reason).Inc()
}

func (m *Metrics) unavailable(down bool) {
	if m != nil {
		v := 0.0
		if down {
			v = 1
		}
		m.Unavailable.Set(v)
	}
}

// observe records a send; pooled says whether the back end has connections to wait for (SMTP).
func (m *Metrics) observe(template string, pooled bool, waited, sending time.Duration) {
	if m != nil {
		if pooled {
			m.ConnectionWait.Observe(waited.Seconds())
		}
		m.SendDuration.WithLabelValues(template).Observe(sending.Seconds())
	}
}
