//go:build faults

package app

import (
	"context"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/eventworker/eventworker/internal/testenv"
	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/registry"
)

// silentRelay accepts SMTP connections and never says a word: the relay that never answers.
func silentRelay(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				_ = c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	return ln.Addr().String()
}

// TestFaultShutdownKeepsItsDeadline: with emails stuck on a relay that never answers, SIGTERM
// ends the process within EVENTWORKER_SHUTDOWN_TIMEOUT and its margin; a second signal ends it
// at once.
func TestFaultShutdownKeepsItsDeadline(t *testing.T) {
	f := startFaultEnv(t, testenv.AMQPURL(t))
	relay := silentRelay(t)
	settings := []string{
		"EVENTWORKER_MAIL_URL=smtp://" + relay + "?starttls=none",
		"EVENTWORKER_SHUTDOWN_TIMEOUT=2s", "EVENTWORKER_HANDLER_TIMEOUT=1800ms", "EVENTWORKER_MAIL_TIMEOUT=1500ms",
		"EVENTWORKER_LOG_LEVEL=info",
	}
	pub, err := publisher.New(context.Background(), publisher.Config{URL: f.amqpURL, Registry: f.reg, Producer: "faults-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	publishOrders := func(n int) {
		for i := range n {
			if _, err := pub.Publish(context.Background(), publisher.Event{ID: uuid.NewString(), TenantID: "t1", Data: &registry.OrderCreated{
				OrderID: fmt.Sprintf("o%d", i), CustomerID: "c1", CustomerEmail: "c@example.com", AmountMinor: 1, Currency: "EUR",
			}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name    string
		signals int
		within  time.Duration
	}{
		{"one SIGTERM: the deadline and its margin", 1, 2*time.Second + 2*time.Second},
		{"a second SIGTERM: at once", 2, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := f.start(settings...)
			publishOrders(8)
			time.Sleep(500 * time.Millisecond) // the emails are stuck on the relay now
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			from := time.Now()
			if tc.signals == 2 {
				time.Sleep(100 * time.Millisecond)
				from = time.Now()
				if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
			}
			select {
			case <-p.done:
			case <-time.After(30 * time.Second):
				t.Fatalf("the worker did not exit within 30 s:\n%s", tail(p.logs, 20))
			}
			took := time.Since(from)
			t.Logf("figures shutdown with a silent relay, %d signal(s): exited %.2fs after the last signal", tc.signals, took.Seconds())
			if took > tc.within {
				t.Errorf("exited %.2fs after the last signal, want within %s:\n%s", took.Seconds(), tc.within, tail(p.logs, 20))
			}
		})
	}
}
