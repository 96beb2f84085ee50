package backlog

import "github.com/prometheus/client_golang/prometheus"

// Reasons of a failed poll: the reason label of eventworker_queue_poll_errors_total.
const (
	// ReasonUnreachable: the broker could not be reached, or did not answer within the
	// poll's timeout; every queue's series is removed until a poll succeeds.
	ReasonUnreachable = "unreachable"
	// ReasonMissing: a queue the worker declares does not exist (counted once per queue and
	// poll); its series are removed.
	ReasonMissing = "missing"
	// ReasonFailed: the broker refused to answer for a queue for another reason (access,
	// for instance); its series are removed.
	ReasonFailed = "failed"
)

// AllReasons returns every reason label value, in a fixed order.
func AllReasons() []string { return []string{ReasonUnreachable, ReasonMissing, ReasonFailed} }

// Metrics are the queue gauges. Labels are bounded: queue names derive from the consumers and
// retry delays of the worker's configuration, kinds are the Kind* constants.
type Metrics struct {
	// Messages is each queue's ready messages at the last poll, by queue, consumer and kind:
	// the messages waiting for a consumer, without those delivered and not yet acknowledged.
	Messages *prometheus.GaugeVec
	// Consumers is each queue's consumers at the last poll (every replica's subscriptions),
	// by queue, consumer and kind.
	Consumers *prometheus.GaugeVec
	// PollErrors counts polls or queues that could not be read, by reason (the Reason*
	// constants).
	PollErrors *prometheus.CounterVec
	// LastSuccess is the Unix time of the last poll that reached the broker and read every
	// queue that exists.
	LastSuccess prometheus.Gauge
}

var queueLabels = []string{"queue", "consumer", "kind"}

// NewMetrics builds the queue metrics and registers them with reg; nil reg registers nothing.
// Every reason label starts at 0. It panics if reg already holds metrics of the same names, as
// prometheus.MustRegister does.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Messages: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "eventworker", Subsystem: "queue", Name: "messages",
			Help: "Messages ready in each queue the worker declares (not counting those delivered and unacknowledged), read from RabbitMQ by a passive declare; absent while the broker cannot be read.",
		}, queueLabels),
		Consumers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "eventworker", Subsystem: "queue", Name: "consumers",
			Help: "Consumers of each queue the worker declares, every replica's included, read from RabbitMQ; absent while the broker cannot be read.",
		}, queueLabels),
		PollErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "eventworker", Subsystem: "queue", Name: "poll_errors_total",
			Help: "Reads of the queues' depth that failed, by reason (unreachable: the whole poll; missing, failed: one queue).",
		}, []string{"reason"}),
		LastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "eventworker", Subsystem: "queue", Name: "last_poll_success_timestamp_seconds",
			Help: "Unix time of the last poll that read the depth of every existing queue from RabbitMQ.",
		}),
	}
	for _, r := range AllReasons() {
		m.PollErrors.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.Messages, m.Consumers, m.PollErrors, m.LastSuccess)
	}
	return m
}

func (m *Metrics) set(q Queue, messages, consumers int) {
	m.Messages.WithLabelValues(q.Name, q.Consumer, q.Kind).Set(float64(messages))
	m.Consumers.WithLabelValues(q.Name, q.Consumer, q.Kind).Set(float64(consumers))
}

func (m *Metrics) drop(q Queue) {
	m.Messages.DeleteLabelValues(q.Name, q.Consumer, q.Kind)
	m.Consumers.DeleteLabelValues(q.Name, q.Consumer, q.Kind)
}

func (m *Metrics) dropAll() {
	m.Messages.Reset()
	m.Consumers.Reset()
}
