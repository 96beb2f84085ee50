package watermillbus_test

import (
	"context"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"

	"github.com/eventworker/eventworker/publisher"
	"github.com/eventworker/eventworker/publisher/watermillbus"
	"github.com/eventworker/eventworker/registry"
)

// TestGoChannel: each event is a message on the topic of its type, its UUID the event_id, with
// the routing key, content type and correlation id as metadata, and a body the registry accepts.
func TestGoChannel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bus := gochannel.NewGoChannel(gochannel.Config{OutputChannelBuffer: 16}, watermill.NopLogger{})
	reg, _ := registry.Default()
	p, err := watermillbus.New(bus, publisher.Config{Producer: "shop-api"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer p.Close()
	ctx = publisher.WithCorrelationID(ctx, "flow-1")
	for _, tc := range []struct {
		eventType string
		publish   func() (string, error)
	}{
		{"tenant.reactivated", func() (string, error) {
			return p.TenantReactivated(ctx, "acme", registry.TenantReactivated{TenantID: "acme"})
		}},
		{"user.updated", func() (string, error) {
			return p.UserUpdated(ctx, "acme", registry.UserUpdated{UserID: "u-1"})
		}},
	} {
		msgs, err := bus.Subscribe(ctx, tc.eventType)
		if err != nil {
			t.Fatalf("subscribe %s: %v", tc.eventType, err)
		}
		id, err := tc.publish()
		if err != nil {
			t.Fatalf("%s: publish: %v", tc.eventType, err)
		}
		select {
		case msg := <-msgs:
			msg.Ack()
			if msg.UUID != id {
				t.Errorf("%s: message UUID %q, want the event_id %q", tc.eventType, msg.UUID, id)
			}
			for k, want := range map[string]string{
				watermillbus.MetadataRoutingKey: tc.eventType, watermillbus.MetadataContentType: "application/json",
				watermillbus.MetadataCorrelationID: "flow-1",
			} {
				if got := msg.Metadata.Get(k); got != want {
					t.Errorf("%s: metadata %s = %q, want %q", tc.eventType, k, got, want)
				}
			}
			ev, err := reg.Validate(msg.Metadata.Get(watermillbus.MetadataRoutingKey), msg.Payload)
			if err != nil {
				t.Errorf("%s: body does not validate: %v", tc.eventType, err)
			} else if ev.ID != id || ev.Producer != "shop-api" {
				t.Errorf("%s: body has id %q producer %q, want %q %q", tc.eventType, ev.ID, ev.Producer, id, "shop-api")
			}
		case <-ctx.Done():
			t.Fatalf("%s: no message on the gochannel topic", tc.eventType)
		}
	}
	if _, err := watermillbus.New(nil, publisher.Config{}); err == nil {
		t.Error("New(nil) = nil error")
	}
}
