package publisher

import (
	"context"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message"
)

// Metadata keys and values of the Watermill messages that NewWithPublisher's Publisher sends.
const (
	MetadataRoutingKey    = "routing_key"
	MetadataContentType   = "content_type"
	MetadataCorrelationID = "correlation_id"
	// ContentType is the content type of every event body, as the contract has it.
	ContentType = "application/json"
	// ContentEncoding is the content encoding of every event body, as the contract has it.
	ContentEncoding = "utf-8"
)

// watermillSender hands bodies to an injected Watermill publisher.
type watermillSender struct{ pub message.Publisher }

func (w watermillSender) send(ctx context.Context, env envelope) error {
	ev := env.event
	msg := message.NewMessage(ev.ID, env.body)
	msg.Metadata.Set(MetadataRoutingKey, ev.Type)
	msg.Metadata.Set(MetadataContentType, ContentType)
	if ev.CorrelationID != "" {
		// Watermill's correlation middleware reads this key.
		msg.Metadata.Set(MetadataCorrelationID, ev.CorrelationID)
	}
	msg.SetContext(ctx)
	if err := w.pub.Publish(ev.Type, msg); err != nil {
		return fmt.Errorf("watermill publish to topic %q: %w", ev.Type, err)
	}
	return nil
}

func (w watermillSender) close() error {
	if err := w.pub.Close(); err != nil {
		return fmt.Errorf("close watermill publisher: %w", err)
	}
	return nil
}
