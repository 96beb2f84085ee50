package publisher

import (
	"context"
	"fmt"

	"github.com/eventworker/eventworker/registry"
)

// Envelope fills ev's envelope and validates it exactly as Publish does, without sending it,
// and returns the event and the JSON body that would go on the wire. It is for producers that
// store events before sending them (package publisher/outbox); cfg's URL, when set, is only
// checked, never dialled. An invalid event matches registry.ErrInvalid, as Publish's does.
func Envelope(ctx context.Context, cfg Config, ev Event) (*registry.Event, []byte, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, nil, fmt.Errorf("build envelope: %w", err)
	}
	env, err := buildEnvelope(ctx, cfg.Registry, cfg.Producer, ev)
	if err != nil {
		return nil, nil, err
	}
	return env.event, env.body, nil
}

// PublishBody sends body, the JSON of an event that Envelope built earlier, with the routing key
// eventType, after validating it with the registry again (a body changed in storage is refused
// as registry.ErrInvalid and not sent). The AMQP properties and headers are Publish's: the
// event_id as message_id and ctx's trace context as traceparent and tracestate. It returns the
// event as sent, also on a send failure once the body was valid.
func (p *Publisher) PublishBody(ctx context.Context, eventType string, body []byte) (*registry.Event, error) {
	if p.closed.Load() {
		return nil, ErrClosed
	}
	ev, err := p.cfg.Registry.Validate(eventType, body)
	if err != nil {
		return nil, fmt.Errorf("refusing to publish a stored body: %w", err)
	}
	ctx, span := p.startSend(ctx, ev)
	err = p.sender.send(ctx, envelope{event: ev, body: body})
	endSend(span, err)
	if err != nil {
		return ev, fmt.Errorf("publish %s event %s: %w", ev.Type, ev.ID, err)
	}
	return ev, nil
}
