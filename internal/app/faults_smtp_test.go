//go:build faults

package app

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/eventworker/eventworker/handlers"
	"github.com/eventworker/eventworker/internal/emails"
	"github.com/eventworker/eventworker/internal/testenv"
	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/registry"
)

// smtpOutage is how long TestFaultSMTPDownFor30s keeps the SMTP server down: the fault's
// duration, far beyond the fault environment's retry delays (1s, 2s, 5s: 8 s in all).
const smtpOutage = 30 * time.Second

// metricSum sums, over the live workers, the samples of the metric family name whose labels
// contain every one of labels (as `key="value"`).
func (f *faultEnv) metricSum(name string, labels ...string) float64 {
	var sum float64
	f.eachLiveMetric(func(line string) {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			return
		}
		for _, l := range labels {
			if !strings.Contains(rest, l) {
				return
			}
		}
		var v float64
		if i := strings.LastIndexByte(rest, ' '); i >= 0 {
			if _, err := fmt.Sscan(rest[i+1:], &v); err == nil {
				sum += v
			}
		}
	})
	return sum
}

// outageFigures is what the workers showed while the SMTP server was down.
type outageFigures struct {
	failed, retried, dead float64 // rises of the counters over the outage
	samples, notReady     int     // readiness probes, 1 s apart per worker, and the failed ones
	unavailableMax        float64 // highest sum over the workers of eventworker_mail_server_unavailable
}

func (o outageFigures) String() string {
	return fmt.Sprintf("emails failed %.0f, notifications retried %.0f, dead letters %.0f, readiness not OK in %d of %d probes, eventworker_mail_server_unavailable at most %.0f",
		o.failed, o.retried, o.dead, o.notReady, o.samples, o.unavailableMax)
}

// smtpDown stops the SMTP sink for smtpOutage, watching the workers, then restarts it. It
// returns how many emails the sink held when it stopped.
func (f *faultEnv) smtpDown(procs []*workerProc, o *outageFigures) int {
	return f.smtpDownWhile(procs, o, func() {})
}

// smtpDownWhile is smtpDown that calls during once the sink is down.
func (f *faultEnv) smtpDownWhile(procs []*workerProc, o *outageFigures, during func()) int {
	retried := func() float64 {
		return f.metricSum("eventworker_handler_outcomes_total", `consumer="notifications"`, `outcome="retried"`)
	}
	failedBefore, retriedBefore := f.metricSum("eventworker_emails_failed_total"), retried()
	deadBefore := f.metricSum("eventworker_dead_letters_total")
	f.sink.Stop()
	floor := len(f.sink.Messages())
	end := time.Now().Add(smtpOutage)
	during()
	for time.Now().Before(end) {
		time.Sleep(time.Second)
		for _, p := range procs {
			o.samples++
			if code, _ := readyz("http://" + p.addr + "/readyz"); code != http.StatusOK {
				o.notReady++
			}
		}
		o.unavailableMax = max(o.unavailableMax, f.metricSum("eventworker_mail_server_unavailable"))
	}
	o.failed = f.metricSum("eventworker_emails_failed_total") - failedBefore
	o.retried = retried() - retriedBefore
	o.dead = f.metricSum("eventworker_dead_letters_total") - deadBefore
	if got := len(f.sink.Messages()); got != floor {
		f.t.Errorf("the stopped SMTP server received %d emails", got-floor)
	}
	f.sink.Restart(f.t)
	return floor
}

// TestFaultSMTPDownFor30s runs two worker processes on the same queues and takes the SMTP
// server down for 30 s a third of the way through the emails of 5,000 mixed events: connections
// refused, open ones cut. The emails must wait for the server, not become dead letters, and the
// outage must show in the workers' metrics.
//
// Under that load the emails that failed go back behind a backlog of about 2,000 others, so few
// come back often enough to use up their retries (1 s, 2 s, 5 s here). A second outage of 30 s
// therefore comes with a trickle of 20 registrations and nothing else: each of their emails is
// tried again every few seconds, many more times than the retry delays allow.
func TestFaultSMTPDownFor30s(t *testing.T) {
	f := startFaultEnv(t, testenv.AMQPURL(t))
	procs := []*workerProc{f.start(), f.start()}

	var busy outageFigures
	f.runFault("SMTP down 30 s", func() int { return f.smtpDown(procs, &busy) })
	t.Logf("figures SMTP down 30 s under load, during the outage: %s", busy)
	if t.Failed() {
		return
	}

	// The quiet outage: 20 registrations published while the server is down.
	began := time.Now()
	mids := map[string]int{}
	var quiet outageFigures
	floor := f.smtpDownWhile(procs, &quiet, func() {
		for i := range 20 {
			ev, err := f.pub.Publish(context.Background(), publisher.Event{TenantID: faultTenants[i%2], OccurredAt: faultDay.Add(13 * time.Hour),
				Data: &registry.UserRegistered{UserID: fmt.Sprintf("quiet%d", i), Email: fmt.Sprintf("quiet%d@example.com", i)}})
			if err != nil {
				t.Fatal(err)
			}
			mids[handlers.MessageID(ev.ID, emails.Welcome, faultFromAddr)] = 0
		}
	})
	count := func() (arrived, copies int) {
		for id := range mids {
			mids[id] = 0
		}
		for _, m := range f.sink.Messages()[floor:] {
			msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
			if err != nil {
				continue
			}
			if n, ok := mids[strings.Trim(msg.Header.Get("Message-ID"), "<> ")]; ok {
				mids[strings.Trim(msg.Header.Get("Message-ID"), "<> ")] = n + 1
			}
		}
		for _, n := range mids {
			if n > 0 {
				arrived++
			}
			copies += n
		}
		return arrived, copies
	}
	var arrived, copies int
	deadline := time.Now().Add(faultDeadline)
	for arrived, copies = count(); arrived < len(mids) && time.Now().Before(deadline); arrived, copies = count() {
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	arrived, copies = count()
	dead := f.deadLetters()
	t.Logf("figures SMTP down 30 s with a trickle of 20 registrations, during the outage: %s; after it: %d of %d emails arrived, %d extra copies, dead letters in all %d, %.1fs",
		quiet, arrived, len(mids), copies-arrived, dead, time.Since(began).Seconds())
	if arrived != len(mids) {
		t.Errorf("%d of the %d emails published during the quiet outage never arrived", len(mids)-arrived, len(mids))
	}
	if copies != arrived {
		t.Errorf("%d extra copies of the emails published during the quiet outage", copies-arrived)
	}
	if dead != 0 {
		t.Errorf("%d dead letters, want 0", dead)
	}
	for _, o := range []outageFigures{busy, quiet} {
		if o.failed == 0 {
			t.Error("eventworker_emails_failed_total did not rise while the SMTP server was down")
		}
		if o.retried == 0 {
			t.Error("no notifications event was retried while the SMTP server was down")
		}
		if o.dead != 0 {
			t.Errorf("%.0f events dead-lettered while the SMTP server was down", o.dead)
		}
		if o.unavailableMax == 0 {
			t.Error("eventworker_mail_server_unavailable stayed 0 while the SMTP server was down")
		}
	}
	if t.Failed() {
		for _, p := range procs {
			t.Logf("worker %d log tail:\n%s", p.n, tail(p.logs, 10))
		}
	}
}
