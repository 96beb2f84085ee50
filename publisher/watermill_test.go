package publisher

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"

	"github.com/eventworker/eventworker/registry"
)

func TestWatermillGoChannel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bus := gochannel.NewGoChannel(gochannel.Config{OutputChannelBuffer: 16}, watermill.NopLogger{})
	reg, _ := registry.Default()
	p, err := NewWithPublisher(bus, Config{Producer: "shop-api"})
	if err != nil {
		t.Fatalf("NewWithPublisher: %v", err)
	}
	defer p.Close()

	for _, tc := range typedCases() {
		msgs, err := bus.Subscribe(ctx, tc.eventType)
		if err != nil {
			t.Fatalf("subscribe %s: %v", tc.eventType, err)
		}
		id, err := tc.helper(p, WithCorrelationID(ctx, "flow-1"), tc.tenantID)
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
				MetadataRoutingKey: tc.eventType, MetadataContentType: "application/json", MetadataCorrelationID: "flow-1",
			} {
				if got := msg.Metadata.Get(k); got != want {
					t.Errorf("%s: metadata %s = %q, want %q", tc.eventType, k, got, want)
				}
			}
			ev, err := reg.Validate(msg.Metadata.Get(MetadataRoutingKey), msg.Payload)
			if err != nil {
				t.Errorf("%s: body does not validate: %v", tc.eventType, err)
			} else if ev.ID != id || ev.TenantID != tc.tenantID || ev.Producer != "shop-api" {
				t.Errorf("%s: body has id %q tenant %q producer %q, want %q %q %q",
					tc.eventType, ev.ID, ev.TenantID, ev.Producer, id, tc.tenantID, "shop-api")
			}
		case <-ctx.Done():
			t.Fatalf("%s: no message on the gochannel topic", tc.eventType)
		}
	}
}

func TestHelpersPublishTheirType(t *testing.T) {
	t.Parallel()
	for _, tc := range typedCases() {
		t.Run(tc.eventType, func(t *testing.T) {
			t.Parallel()
			p, rec := newRecorded(t, Config{})
			id, err := tc.helper(p, context.Background(), tc.tenantID)
			if err != nil {
				t.Fatalf("helper: %v", err)
			}
			topic, msg := rec.last(t)
			if topic != tc.eventType || msg.UUID != id {
				t.Errorf("sent to topic %q as %q, want topic %q as the returned id %q", topic, msg.UUID, tc.eventType, id)
			}
		})
	}
}

func TestWatermillPublishErrorKeepsEvent(t *testing.T) {
	t.Parallel()
	boom := errors.New("bus down")
	p, rec := newRecorded(t, Config{})
	rec.err = boom
	ev, err := p.Publish(context.Background(), Event{TenantID: "acme", Data: registry.TenantReactivated{TenantID: "acme"}})
	if !errors.Is(err, boom) {
		t.Fatalf("Publish = %v, want the bus's error", err)
	}
	if ev == nil || ev.ID == "" {
		t.Errorf("a failed send returned no event to publish again: %+v", ev)
	}
}

func TestPublishAfterClose(t *testing.T) {
	t.Parallel()
	p, rec := newRecorded(t, Config{})
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if !rec.closed {
		t.Error("Close did not close the Watermill publisher")
	}
	_, err := p.TenantReactivated(context.Background(), "acme", registry.TenantReactivated{TenantID: "acme"})
	if !errors.Is(err, ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}
}
