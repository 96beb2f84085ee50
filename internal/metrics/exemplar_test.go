package metrics

import (
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

func TestObserveLagTracedKeepsTheTraceAsExemplar(t *testing.T) {
	t.Parallel()
	m := New(NewRegistry())
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	m.ObserveLagTraced("order.created", 30*time.Millisecond, traceID)
	m.ObserveLagTraced("order.created", -time.Second, "") // clocks that disagree: 0, no exemplar

	var pb dto.Metric
	if err := m.Lag.WithLabelValues("order.created").(interface{ Write(*dto.Metric) error }).Write(&pb); err != nil {
		t.Fatal(err)
	}
	h := pb.GetHistogram()
	if h.GetSampleCount() != 2 || h.GetSampleSum() != 0.03 {
		t.Fatalf("count %d sum %v, want 2 observations summing 0.03", h.GetSampleCount(), h.GetSampleSum())
	}
	var found bool
	for _, b := range h.GetBucket() {
		if ex := b.GetExemplar(); ex != nil {
			for _, l := range ex.GetLabel() {
				found = found || (l.GetName() == ExemplarTraceID && l.GetValue() == traceID && ex.GetValue() == 0.03)
			}
		}
	}
	if !found {
		t.Errorf("no bucket keeps the exemplar trace_id=%s", traceID)
	}
}
