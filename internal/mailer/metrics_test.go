package mailer

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/eventworker/eventworker/internal/smtptest"
)

func TestMetricsRecorded(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	metrics := NewMetrics(reg)
	ts := smtptest.Start(t, smtptest.Options{})
	cfg := testConfig(ts.URL("smtp", "", "starttls=none"))
	cfg.Metrics = metrics
	s := openSender(t, cfg)
	ctx := testContext(t)

	_ = s.Send(ctx, simpleMessage("ok-1@shop.example"))
	_ = s.Send(ctx, simpleMessage("ok-2@shop.example"))
	ts.FailNext("rcpt", 1, 550, smtptest.EnhancedCode{5, 1, 1}, "user unknown")
	_ = s.Send(ctx, simpleMessage("rejected@shop.example"))
	ts.FailNext("rcpt", 1, 451, smtptest.EnhancedCode{4, 3, 0}, "try later")
	_ = s.Send(ctx, simpleMessage("deferred@shop.example"))
	bad := simpleMessage("invalid@shop.example")
	bad.To[0].Email = "not an address"
	_ = s.Send(ctx, bad)

	checks := []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"sent", metrics.Sent.WithLabelValues("welcome"), 2},
		{"failed permanent", metrics.Failed.WithLabelValues("welcome", ReasonPermanent), 2},
		{"failed transient", metrics.Failed.WithLabelValues("welcome", ReasonTransient), 1},
	}
	for _, c := range checks {
		if got := testutil.ToFloat64(c.c); got != c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	// Four emails reached the server; the invalid one never did.
	if got := histogramCount(t, metrics, "welcome"); got != 4 {
		t.Errorf("send duration observations = %d, want 4", got)
	}

	names := map[string]bool{}
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, f := range families {
		names[f.GetName()] = true
	}
	metrics.Suppressed.WithLabelValues("welcome").Inc() // the notifications handler's counter
	for _, n := range []string{"eventworker_emails_sent_total", "eventworker_emails_failed_total", "eventworker_email_send_duration_seconds"} {
		if !names[n] {
			t.Errorf("registry lacks %s (has %v)", n, names)
		}
	}
	if n := testutil.CollectAndCount(metrics.Suppressed, "eventworker_emails_suppressed_total"); n != 1 {
		t.Errorf("eventworker_emails_suppressed_total has %d series, want 1", n)
	}

	// A second NewMetrics on the same registry reuses the registered metrics.
	again := NewMetrics(reg)
	if again.Sent != metrics.Sent || again.SendDuration != metrics.SendDuration {
		t.Error("NewMetrics on the same registry did not reuse the registered metrics")
	}
}

func TestMetricsForEveryBackend(t *testing.T) {
	for _, url := range []string{"log://", "file://" + t.TempDir()} {
		metrics := NewMetrics(nil)
		cfg := testConfig(url)
		cfg.Metrics = metrics
		s := openSender(t, cfg)
		if err := s.Send(testContext(t), simpleMessage("m@shop.example")); err != nil {
			t.Fatalf("%s: Send: %v", url, err)
		}
		if got := testutil.ToFloat64(metrics.Sent.WithLabelValues("welcome")); got != 1 {
			t.Errorf("%s: sent = %v, want 1", url, got)
		}
		if got := histogramCount(t, metrics, "welcome"); got != 1 {
			t.Errorf("%s: send duration observations = %d, want 1", url, got)
		}
	}
}

func histogramCount(t *testing.T, m *Metrics, template string) uint64 {
	t.Helper()
	var out dto.Metric
	h, ok := m.SendDuration.WithLabelValues(template).(prometheus.Histogram)
	if !ok {
		t.Fatal("SendDuration is not a histogram")
	}
	if err := h.Write(&out); err != nil {
		t.Fatal(err)
	}
	return out.GetHistogram().GetSampleCount()
}

// TestConnectionWaitIsMeasuredApart sends three emails at once over one connection to a server
// that takes 200 ms per DATA: two of them wait for the connection, and that wait is counted in
// the wait histogram, not in the send's duration.
func TestConnectionWaitIsMeasuredApart(t *testing.T) {
	metrics := NewMetrics(prometheus.NewPedanticRegistry())
	ts := smtptest.Start(t, smtptest.Options{})
	ts.SetDataDelay(200 * time.Millisecond)
	cfg := testConfig(ts.URL("smtp", "", "starttls=none"))
	cfg.Metrics, cfg.Connections = metrics, 1
	s := openSender(t, cfg)
	ctx := testContext(t)
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			if err := s.Send(ctx, simpleMessage(fmt.Sprintf("wait-%d@shop.example", i))); err != nil {
				t.Errorf("Send: %v", err)
			}
		})
	}
	wg.Wait()

	var wait, send dto.Metric
	if err := metrics.ConnectionWait.Write(&wait); err != nil {
		t.Fatal(err)
	}
	if err := metrics.SendDuration.WithLabelValues("welcome").(prometheus.Histogram).Write(&send); err != nil {
		t.Fatal(err)
	}
	if n := wait.GetHistogram().GetSampleCount(); n != 3 {
		t.Errorf("connection waits observed %d, want 3", n)
	}
	// The second email waited for one send, the third for two: at least 600 ms in all.
	if sum := wait.GetHistogram().GetSampleSum(); sum < 0.6 {
		t.Errorf("connection waits add up to %.3f s, want at least 0.6 s", sum)
	}
	if n := send.GetHistogram().GetSampleCount(); n != 3 {
		t.Errorf("sends observed %d, want 3", n)
	}
	// Each send took its 200 ms of DATA and none includes another's: counted with the waits they
	// would add up to 0.2 + 0.4 + 0.6 = 1.2 s.
	if sum := send.GetHistogram().GetSampleSum(); sum < 0.6 || sum >= 1.2 {
		t.Errorf("sends add up to %.3f s, want 0.6 s and more, but not the 1.2 s they would with the waits", sum)
	}
}
