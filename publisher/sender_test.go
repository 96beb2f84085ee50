package publisher

import (
	"context"
	"errors"
	"testing"

	"github.com/eventworker/eventworker/registry"
)

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
			sent, _ := rec.last(t)
			if sent.Type != tc.eventType || sent.ID != id {
				t.Errorf("sent %s as %q, want %s as the returned id %q", sent.Type, sent.ID, tc.eventType, id)
			}
		})
	}
}

func TestSendErrorKeepsEvent(t *testing.T) {
	t.Parallel()
	boom := errors.New("bus down")
	p, rec := newRecorded(t, Config{})
	rec.err = boom
	ev, err := p.Publish(context.Background(), Event{TenantID: "acme", Data: registry.TenantReactivated{TenantID: "acme"}})
	if !errors.Is(err, boom) {
		t.Fatalf("Publish = %v, want the sender's error", err)
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
		t.Error("Close did not close the sender")
	}
	_, err := p.TenantReactivated(context.Background(), "acme", registry.TenantReactivated{TenantID: "acme"})
	if !errors.Is(err, ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}
}
