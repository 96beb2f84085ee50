package worker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/ThreeDotsLabs/watermill/message"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventworker/eventworker/internal/broker"
)

// Transport carries a worker's messages: RabbitMQ unless Deps.Transport names another
// (internal/localtransport's, in one process, for the demo and tests). The pipeline, the
// retries and the dead letters are the same over any.
type Transport interface {
	// Subscriber binds the transport to the worker's topology and returns the subscriber of its
	// consumers' work queues (topics are consumer names); New calls it once. A subscriber that
	// can stop taking messages while those delivered finish (Stop, Wait) lets a shutdown handle
	// them all.
	Subscriber(top *broker.Topology, log *slog.Logger) (message.Subscriber, error)
	// Publish stores a retry or dead letter in the queue named key (exchange "") and returns once
	// it is safe there; an unroutable one is an error wrapping broker.ErrUnroutable.
	Publish(ctx context.Context, exchange, key string, p amqp.Publishing) error
	// Ready reports nil while the transport delivers the worker's messages, else why not.
	Ready() error
}

// declarer is a transport that can declare a consumer's queues again (RabbitMQ's), when a retry
// or dead letter finds one missing.
type declarer interface {
	Declare(ctx context.Context, top *broker.Topology, consumer string) error
}

// rabbitTransport is RabbitMQ: the worker's own subscriber (broker.Subscriber), and the
// confirmer that stores retries and dead letters.
type rabbitTransport struct {
	url       string
	tls       *tls.Config
	prefetch  int
	confirmer *broker.Confirmer
	// observe is told the node of each connection of the subscriber that opens and closes.
	observe func(node string, connected bool)

	mu  sync.Mutex
	sub *broker.Subscriber
}

func (r *rabbitTransport) Subscriber(top *broker.Topology, log *slog.Logger) (message.Subscriber, error) {
	if r.confirmer == nil {
		return nil, errors.New("RabbitMQ transport: Deps.Confirmer is nil")
	}
	sub, err := broker.NewSubscriber(broker.SubscriberConfig{
		URL: r.url, TLS: r.tls, ConnectionName: "eventworker-consume", Prefetch: r.prefetch,
		Queue:   func(consumer string) string { return broker.Names{Prefix: top.Prefix, Consumer: consumer}.Work() },
		Declare: top.Declare,
		Logger:  log,
		Observe: r.observe,
	})
	if err != nil {
		return nil, fmt.Errorf("create subscriber: %w", err)
	}
	r.mu.Lock()
	r.sub = sub
	r.mu.Unlock()
	return sub, nil
}

func (r *rabbitTransport) Publish(ctx context.Context, exchange, key string, p amqp.Publishing) error {
	return r.confirmer.Publish(ctx, exchange, key, p)
}

func (r *rabbitTransport) Declare(_ context.Context, top *broker.Topology, consumer string) error {
	return r.confirmer.Declare(func(ch *amqp.Channel) error { return top.Declare(ch, consumer) })
}

// Ready reports the subscriber's own subscriptions (the broker's consumer count of a queue
// would count other replicas'), and why it is not connected.
func (r *rabbitTransport) Ready() error {
	r.mu.Lock()
	sub := r.sub
	r.mu.Unlock()
	if sub == nil {
		return errors.New("not started")
	}
	return sub.Ready()
}

// Node returns the RabbitMQ node (host:port) the subscriber is connected to, and false when it
// is not.
func (r *rabbitTransport) Node() (string, bool) {
	r.mu.Lock()
	sub := r.sub
	r.mu.Unlock()
	if sub == nil {
		return "", false
	}
	return sub.Node()
}
