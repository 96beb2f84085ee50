// Package watermillbus publishes events through any Watermill publisher, such as gochannel's, for
// in-process use: the worker's demo and tests, and producers that already run on Watermill. It
// lives apart from package publisher so that producers on RabbitMQ do not compile Watermill.
package watermillbus

import (
	"context"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/propagation"

	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/registry"
)

// Metadata keys of the Watermill messages New's Publisher sends.
const (
	MetadataRoutingKey    = "routing_key"
	MetadataContentType   = "content_type"
	MetadataCorrelationID = "correlation_id"
)

// New returns a publisher.Publisher that publishes through pub: each event becomes a message on
// the topic of its type, with the event_id as UUID and metadata routing_key and content_type
// (and correlation_id when set); cfg.URL is ignored. Its Close closes pub.
func New(pub message.Publisher, cfg publisher.Config) (*publisher.Publisher, error) {
	if pub == nil {
		return nil, fmt.Errorf("new publisher: %w: watermill publisher is nil", publisher.ErrInvalidConfig)
	}
	return publisher.NewWithSender(sender{pub: pub}, cfg)
}

// sender hands bodies to a Watermill publisher.
type sender struct{ pub message.Publisher }

func (w sender) Send(ctx context.Context, ev *registry.Event, body []byte) error {
	msg := message.NewMessage(ev.ID, body)
	msg.Metadata.Set(MetadataRoutingKey, ev.Type)
	msg.Metadata.Set(MetadataContentType, publisher.ContentType)
	if ev.CorrelationID != "" {
		// Watermill's correlation middleware reads this key.
		msg.Metadata.Set(MetadataCorrelationID, ev.CorrelationID)
	}
	// The trace context travels as AMQP headers do over RabbitMQ: traceparent, tracestate.
	publisher.InjectTraceContext(ctx, propagation.MapCarrier(msg.Metadata))
	msg.SetContext(ctx)
	if err := w.pub.Publish(ev.Type, msg); err != nil {
		return fmt.Errorf("watermill publish to topic %q: %w", ev.Type, err)
	}
	return nil
}

func (w sender) Close() error {
	if err := w.pub.Close(); err != nil {
		return fmt.Errorf("close watermill publisher: %w", err)
	}
	return nil
}
