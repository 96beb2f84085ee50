package worker

import (
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// breaker pauses a consumer while a service its handlers need is down (Redis, the mail server):
// after `after` unavailable outcomes in a row it opens, and its messages wait, unacknowledged
// within the prefetch, instead of each going through the retry queue and back. Once open, it
// lets one message through as a probe after a pause that doubles from minPause up to maxPause;
// the first outcome that is not "unavailable" closes it, and the consumer resumes by itself.
// Shutdown ends every wait: the waiting messages are then handled, and retried, as usual.
type breaker struct {
	after              int
	minPause, maxPause time.Duration
	log                *slog.Logger
	paused             prometheus.Gauge

	mu      sync.Mutex
	fails   int           // unavailable outcomes in a row
	open    bool          // paused
	probing bool          // a probe is running
	pause   time.Duration // the current pause between probes
	until   time.Time     // when the next probe may start
	changed chan struct{} // closed on every change, then replaced: wakes the waiters
	lastErr string
	since   time.Time // when it last opened or closed
}

// Defaults of the pause between probes.
const (
	breakerMinPause = time.Second
	breakerMaxPause = 30 * time.Second
)

// newBreaker returns a breaker that opens after `after` unavailable outcomes in a row; after 0
// gives nil, which never pauses.
func newBreaker(after int, maxPause time.Duration, log *slog.Logger, paused prometheus.Gauge) *breaker {
	if after <= 0 {
		return nil
	}
	return &breaker{after: after, minPause: min(breakerMinPause, maxPause), maxPause: maxPause, log: log, paused: paused,
		changed: make(chan struct{})}
}

// admit waits while the breaker is open and returns once the message may run: at once while it
// is closed, as the probe when a pause ended, or when drain is closed (shutdown). probe tells
// the caller to report the outcome as the probe's.
func (b *breaker) admit(drain <-chan struct{}) (probe bool) {
	if b == nil {
		return false
	}
	for {
		b.mu.Lock()
		if !b.open {
			b.mu.Unlock()
			return false
		}
		wait := time.Until(b.until)
		if !b.probing && wait <= 0 {
			b.probing = true
			b.mu.Unlock()
			return true
		}
		changed, probing := b.changed, b.probing
		b.mu.Unlock()
		var t *time.Timer
		var timer <-chan time.Time
		if !probing {
			t = time.NewTimer(wait)
			timer = t.C
		}
		select {
		case <-drain:
			return false
		case <-changed:
		case <-timer:
		}
		if t != nil {
			t.Stop()
		}
	}
}

// verdict is what a message's outcome tells about the services its handler needs.
type verdict int

const (
	// untold: the message never reached them (invalid, shutting down); a probe's turn passes
	// to the next message.
	untold verdict = iota
	// available: they answered (whatever the handler then decided).
	available
	// unavailable: one of them was down.
	unavailable
)

// done reports a message's outcome; cause is the error of an unavailable one.
func (b *breaker) done(probe bool, v verdict, cause error) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if probe {
		b.probing = false
		if v == untold {
			b.wake()
			return
		}
	}
	if v == untold {
		return
	}
	if v == available {
		b.fails = 0
		if b.open {
			b.open, b.since = false, time.Now()
			b.paused.Set(0)
			b.log.Info("consumer resumed: the service it needs answers again")
			b.wake()
		}
		return
	}
	b.fails++
	if cause != nil {
		b.lastErr = cause.Error()
	}
	switch {
	case b.open && probe:
		b.pause = min(2*b.pause, b.maxPause)
		b.until = time.Now().Add(b.pause)
		b.wake()
	case !b.open && b.fails >= b.after:
		b.open, b.pause, b.since = true, b.minPause, time.Now()
		b.until = b.since.Add(b.pause)
		b.paused.Set(1)
		b.log.Warn("consumer paused: a service its handlers need is unavailable; its messages wait instead of going through the retry queue, and one is tried at growing intervals until it gets through",
			"unavailable_in_a_row", b.fails, "error", b.lastErr, "first_probe_in", b.pause.String(), "max_interval", b.maxPause.String())
		b.wake()
	}
}

// wake wakes every waiter; b.mu is held.
func (b *breaker) wake() {
	close(b.changed)
	b.changed = make(chan struct{})
}
