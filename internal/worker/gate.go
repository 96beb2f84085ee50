package worker

import (
	"context"
	"errors"
	"sync"
	"time"
)

// errDraining is returned for messages that arrive after shutdown began; they are not acked and
// go back to the queue when the subscriber closes.
var errDraining = errors.New("worker is shutting down")

// gate counts the messages in flight and holds back new ones once shutdown begins.
type gate struct {
	mu       sync.RWMutex
	draining bool
	inflight sync.WaitGroup
	drain    chan struct{} // closed when shutdown begins
	release  chan struct{} // closed when held-back messages may return
	// hard is cancelled at the shutdown's deadline: the handlers still running are stopped,
	// and their messages, which went back to their queues, are not stored again.
	hard    context.Context
	abandon context.CancelFunc
}

func newGate() *gate {
	hard, abandon := context.WithCancel(context.Background())
	return &gate{drain: make(chan struct{}), release: make(chan struct{}), hard: hard, abandon: abandon}
}

// abandoned reports whether the shutdown's deadline passed.
func (g *gate) abandoned() bool { return g.hard.Err() != nil }

// bind returns a context with ctx's values that ends at the shutdown's deadline, and its cancel.
func (g *gate) bind(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(g.hard, cancel)
	return ctx, func() {
		stop()
		cancel()
	}
}

// enter admits a message, or holds it until release and reports false while draining. The read
// lock orders inflight.Add before the Wait in close.
func (g *gate) enter() bool {
	g.mu.RLock()
	if g.draining {
		g.mu.RUnlock()
		<-g.release
		return false
	}
	g.inflight.Add(1)
	g.mu.RUnlock()
	return true
}

func (g *gate) leave() { g.inflight.Done() }

// sleep waits for d, or less when shutdown begins; it reports whether it slept the whole time.
func (g *gate) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-g.drain:
		return false
	}
}

// close stops admitting messages and waits up to timeout for those in flight; it reports
// whether they all finished.
func (g *gate) close(timeout time.Duration) bool {
	g.mu.Lock()
	if !g.draining {
		g.draining = true
		close(g.drain)
	}
	g.mu.Unlock()
	done := make(chan struct{})
	go func() { g.inflight.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// open lets held-back messages return, once the subscribers are closing.
func (g *gate) open() {
	select {
	case <-g.release:
	default:
		close(g.release)
	}
}
