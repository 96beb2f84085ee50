package publisher

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/eventworker/eventworker/registry"
)

// TestEnvelopeThenPublishBody: a body built by Envelope and sent later by PublishBody reaches the
// sender byte for byte, and a body that changed in between is refused.
func TestEnvelopeThenPublishBody(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	oc := typedCases()[0].payload
	ev, body, err := Envelope(ctx, Config{Producer: "orders"}, Event{TenantID: "shop-1", Data: oc})
	if err != nil {
		t.Fatalf("Envelope: %v", err)
	}
	if ev.Producer != "orders" || ev.ID == "" {
		t.Errorf("envelope producer %q id %q, want orders and a UUID", ev.Producer, ev.ID)
	}
	if _, _, err := Envelope(ctx, Config{}, Event{TenantID: "shop-1", Data: registry.OrderCreated{}}); !errors.Is(err, registry.ErrInvalid) {
		t.Errorf("Envelope of an invalid event: %v, want registry.ErrInvalid", err)
	}

	p, rec := newRecorded(t, Config{Producer: "orders"})
	tests := []struct {
		name    string
		body    []byte
		wantErr error
	}{
		{name: "stored body sent as it is", body: body},
		{name: "changed body refused", body: bytes.Replace(body, []byte(`"currency":"USD"`), []byte(`"currency":7`), 1), wantErr: registry.ErrInvalid},
	}
	for _, tt := range tests {
		sent, err := p.PublishBody(ctx, ev.Type, tt.body)
		if !errors.Is(err, tt.wantErr) {
			t.Fatalf("%s: PublishBody: %v, want %v", tt.name, err, tt.wantErr)
		}
		if err != nil {
			continue
		}
		gotEv, gotBody := rec.last(t)
		if !bytes.Equal(gotBody, body) || gotEv.ID != ev.ID || sent.ID != ev.ID {
			t.Errorf("%s: sent %s (id %s), want %s (id %s)", tt.name, gotBody, gotEv.ID, body, ev.ID)
		}
	}
	if rec.count() != 1 {
		t.Errorf("sender got %d events, want 1", rec.count())
	}
}
