package mailer

import (
	"fmt"
	"sync"
	"testing"

	"github.com/eventworker/eventworker/internal/smtptest"
)

// With several connections, concurrent sends go out in parallel over at most that many
// connections, each email once; the connections are kept and reused.
func TestPoolSpreadsConcurrentSends(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	cfg := testConfig("smtp://" + srv.Addr() + "?starttls=none")
	cfg.Connections = 3
	s := openSender(t, cfg)
	const n = 30
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() { errs <- s.Send(testContext(t), simpleMessage(fmt.Sprintf("pool-%d@shop.example", i))) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	msgs := srv.WaitMessages(t, n, testTimeout)
	if len(msgs) != n {
		t.Errorf("the server got %d messages, want %d", len(msgs), n)
	}
	if c := srv.Connections(); c < 1 || c > 3 {
		t.Errorf("%d connections for a pool of 3", c)
	}
	before := srv.Connections()
	for i := range 6 {
		if err := s.Send(testContext(t), simpleMessage(fmt.Sprintf("again-%d@shop.example", i))); err != nil {
			t.Fatal(err)
		}
	}
	if c := srv.Connections(); c > 3 || c < before {
		t.Errorf("%d connections after more sends, want the pool's at most 3 reused", c)
	}
}

func TestPoolSizeIsValidated(t *testing.T) {
	cfg := testConfig("smtp://127.0.0.1:25?starttls=none")
	cfg.Connections = 65
	if err := cfg.Validate(); err == nil {
		t.Error("65 connections: want an error")
	}
}
