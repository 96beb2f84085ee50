package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ExemplarTraceID is the label of the exemplars that tie an observation to its trace, as
// Grafana's Prometheus data source looks for it.
const ExemplarTraceID = "trace_id"

// ObserveTraced observes v on o with an exemplar naming traceID, or without one when traceID is
// "". Prometheus sees exemplars only when it scrapes the OpenMetrics format.
func ObserveTraced(o prometheus.Observer, v float64, traceID string) {
	if traceID != "" {
		if eo, ok := o.(prometheus.ExemplarObserver); ok {
			eo.ObserveWithExemplar(v, prometheus.Labels{ExemplarTraceID: traceID})
			return
		}
	}
	o.Observe(v)
}

// ObserveLagTraced is ObserveLag with an exemplar naming the event's trace (none when traceID is
// "").
func (m *Metrics) ObserveLagTraced(eventType string, lag time.Duration, traceID string) {
	ObserveTraced(m.Lag.WithLabelValues(eventType), max(lag, 0).Seconds(), traceID)
}
