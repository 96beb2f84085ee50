package app

import (
	"context"
	"fmt"
	"sync"

	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/registry"
)

// lazyPublisher opens the publisher of derived events on first use: publisher.New fails when
// the broker is down, and a broker that is down at start must delay the worker, not stop it.
// A failed open is a transient handler error, retried like any other.
type lazyPublisher struct {
	cfg publisher.Config

	mu  sync.Mutex
	pub *publisher.Publisher
}

// Publish implements handlers.EventPublisher.
func (l *lazyPublisher) Publish(ctx context.Context, ev publisher.Event) (*registry.Event, error) {
	l.mu.Lock()
	if l.pub == nil {
		p, err := publisher.New(ctx, l.cfg)
		if err != nil {
			l.mu.Unlock()
			return nil, fmt.Errorf("open the publisher of derived events: %w", err)
		}
		l.pub = p
	}
	p := l.pub
	l.mu.Unlock()
	return p.Publish(ctx, ev)
}

// Close closes the publisher if it was opened.
func (l *lazyPublisher) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pub == nil {
		return nil
	}
	return l.pub.Close()
}
