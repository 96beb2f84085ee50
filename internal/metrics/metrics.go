package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

const namespace = "eventworker"

// Buckets of eventworker_handler_duration_seconds: 1ms to 30s, the handler timeout's range.
var handlerBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Buckets of eventworker_event_lag_seconds: 1ms to 1h, from a live stream to a replayed backlog.
var lagBuckets = []float64{.001, .005, .01, .05, .1, .5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600}

// Metrics holds every metric of the worker. Its fields are safe for concurrent use.
type Metrics struct {
	// EventsReceived counts valid events on their first delivery to each consumer, by consumer,
	// event_type and version: an event two consumers receive counts once for each.
	// Label with registry types and versions only, which are bounded.
	EventsReceived *prometheus.CounterVec
	// Outcomes counts deliveries by consumer and outcome (the Outcome* constants).
	Outcomes *prometheus.CounterVec
	// HandlerDuration observes each handler call, in seconds, by consumer.
	HandlerDuration *prometheus.HistogramVec
	// Lag observes now minus occurred_at of each handled event, in seconds, by event_type.
	Lag *prometheus.HistogramVec
	// InFlight is the number of deliveries being processed, by consumer.
	InFlight *prometheus.GaugeVec
	// DeadLetters counts dead letters by consumer and class (the Class* constants).
	DeadLetters *prometheus.CounterVec
	// Paused is 1 while a consumer is paused because a service its handlers need is down, by
	// consumer.
	Paused *prometheus.GaugeVec
	// Ready is 1 while the worker is ready (its /readyz answers 200), else 0.
	Ready prometheus.Gauge
	// AMQPNode is 1 for the RabbitMQ node (host:port) each AMQP client of the worker is
	// connected to, by client (the Client* constants) and node, and 0 for the other nodes of
	// its list; see InitAMQPNodes and AMQPConnected.
	AMQPNode *prometheus.GaugeVec
	// BuildInfo is 1 with the running build's version, revision and Go version; see SetBuildInfo.
	BuildInfo *prometheus.GaugeVec

	// oldestInFlight is eventworker_oldest_in_flight_seconds; see TrackOldestInFlight.
	oldestInFlight *ageCollector
}

// New builds the metrics and registers them with reg; nil reg registers nothing. It panics if
// reg already holds metrics of the same names, as prometheus.MustRegister does.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		EventsReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "events_received_total",
			Help: "Valid events received by each consumer, counted on their first delivery.",
		}, []string{"consumer", "event_type", "version"}),
		Outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "handler_outcomes_total",
			Help: "Deliveries by consumer and outcome (ok, retried, dead_lettered, duplicate, suppressed, invalid, renewed).",
		}, []string{"consumer", "outcome"}),
		HandlerDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "handler_duration_seconds",
			Help:    "Duration of handler calls.",
			Buckets: handlerBuckets,
		}, []string{"consumer"}),
		Lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "event_lag_seconds",
			Help:    "Time from an event's occurred_at to the end of its handling.",
			Buckets: lagBuckets,
		}, []string{"event_type"}),
		InFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "in_flight",
			Help: "Deliveries being processed.",
		}, []string{"consumer"}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "dead_letters_total",
			Help: "Deliveries moved to a dead-letter queue, by class (permanent, exhausted, delivery_limit).",
		}, []string{"consumer", "class"}),
		Paused: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "consumer_paused",
			Help: "1 while the consumer is paused: a service its handlers need is unavailable.",
		}, []string{"consumer"}),
		Ready: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "ready",
			Help: "1 while the worker is ready to consume, else 0.",
		}),
		AMQPNode: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "amqp_connected_node",
			Help: "1 for the RabbitMQ node (host:port) an AMQP client of the worker is connected to, 0 for the other nodes of its list.",
		}, []string{"client", "node"}),
		BuildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "build_info",
			Help: "Always 1; the labels describe the running build.",
		}, []string{"version", "revision", "goversion"}),
		oldestInFlight: newAgeCollector(),
	}
	if reg != nil {
		reg.MustRegister(m.EventsReceived, m.Outcomes, m.HandlerDuration, m.Lag, m.InFlight,
			m.DeadLetters, m.Paused, m.Ready, m.AMQPNode, m.BuildInfo, m.oldestInFlight)
	}
	return m
}

// InitConsumer creates the zero-valued series of consumer for every outcome and dead-letter
// class, its in-flight gauge and its duration histogram, so that rate() and absent-alerts
// work from the first scrape instead of from the first occurrence.
func (m *Metrics) InitConsumer(consumer string) {
	for _, o := range AllOutcomes() {
		m.Outcomes.WithLabelValues(consumer, o)
	}
	for _, c := range AllClasses() {
		m.DeadLetters.WithLabelValues(consumer, c)
	}
	m.InFlight.WithLabelValues(consumer)
	m.Paused.WithLabelValues(consumer)
	m.HandlerDuration.WithLabelValues(consumer)
}

// SetBuildInfo sets BuildInfo to 1 for the given build, replacing any earlier one, so the
// metric always has exactly one series.
func (m *Metrics) SetBuildInfo(version, revision, goversion string) {
	m.BuildInfo.Reset()
	m.BuildInfo.WithLabelValues(version, revision, goversion).Set(1)
}

// SetReady sets Ready to 1 or 0; it fits health.Server's OnReady.
func (m *Metrics) SetReady(ready bool) {
	if ready {
		m.Ready.Set(1)
		return
	}
	m.Ready.Set(0)
}

// ObserveLag records lag for eventType; a negative lag, from clocks that disagree, counts as 0
// rather than corrupting the histogram's sum.
func (m *Metrics) ObserveLag(eventType string, lag time.Duration) {
	m.Lag.WithLabelValues(eventType).Observe(max(lag, 0).Seconds())
}

// AMQP clients of the worker, the client label of eventworker_amqp_connected_node.
const (
	ClientConsume = "consume" // the subscriber of the work queues
	ClientConfirm = "confirm" // the publisher of retries and dead letters
	ClientDerived = "derived" // the publisher of derived events
	ClientBacklog = "backlog" // the reader of the queues' depth
)

// AllClients returns every AMQP client of the worker.
func AllClients() []string {
	return []string{ClientConsume, ClientConfirm, ClientDerived, ClientBacklog}
}

// InitAMQPNodes creates client's series at 0 for every node (host:port) of its list, so that
// a query over the nodes sees them all before the first connection.
func (m *Metrics) InitAMQPNodes(client string, nodes []string) {
	for _, n := range nodes {
		m.AMQPNode.WithLabelValues(client, n)
	}
}

// AMQPConnected sets client's series of node to 1 while connected, 0 once not; it fits
// amqpnodes.DialerConfig.Observe.
func (m *Metrics) AMQPConnected(client, node string, connected bool) {
	m.AMQPNode.WithLabelValues(client, node).Set(boolFloat(connected))
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
