package publisher

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/eventworker/eventworker/registry"
)

func TestPublishFillsEnvelope(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 26, 11, 0, 0, 500_000_000, time.FixedZone("CET", 3600))
	oc := registry.OrderCreated{OrderID: "ord-1", CustomerID: "cus-1", CustomerEmail: "a@example.com", AmountMinor: 1999, Currency: "USD"}
	ctxIDs := WithCausationID(WithCorrelationID(context.Background(), "corr-ctx"), "cause-ctx")

	tests := []struct {
		name string
		ctx  context.Context
		ev   Event
		// want* are checked against the body as sent; "" / 0 means "must be filled".
		wantID, wantCorr, wantCause, wantTime string
		wantVersion                           int
		wantType                              string
	}{
		{
			name: "defaults from payload and registry", ctx: context.Background(),
			ev:          Event{TenantID: "acme", Data: oc},
			wantVersion: 2, wantType: "order.created",
		},
		{
			name: "ids from context", ctx: ctxIDs,
			ev:          Event{TenantID: "acme", Data: oc},
			wantVersion: 2, wantType: "order.created", wantCorr: "corr-ctx", wantCause: "cause-ctx",
		},
		{
			name: "event's own fields win over context and defaults", ctx: ctxIDs,
			ev: Event{
				ID: "3f2b8c1e-5d4a-4e7b-9c2f-1a0b9d8e7f61", Type: "order.created", Version: 2, OccurredAt: at,
				TenantID: "acme", CorrelationID: "corr-own", CausationID: "cause-own", Data: oc,
			},
			wantID: "3f2b8c1e-5d4a-4e7b-9c2f-1a0b9d8e7f61", wantVersion: 2, wantType: "order.created",
			wantCorr: "corr-own", wantCause: "cause-own", wantTime: "2026-11-26T10:00:00.5Z",
		},
		{
			name: "older version from a map", ctx: context.Background(),
			ev: Event{Type: "order.created", Version: 1, TenantID: "acme", Data: map[string]any{
				"order_id": "ord-2", "customer_id": "cus-1", "customer_email": "a@example.com", "amount": 19.99, "currency": "USD",
			}},
			wantVersion: 1, wantType: "order.created",
		},
		{
			name: "raw JSON data", ctx: context.Background(),
			ev:          Event{Type: "tenant.reactivated", TenantID: "acme", Data: json.RawMessage(`{"tenant_id":"acme"}`)},
			wantVersion: 1, wantType: "tenant.reactivated",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, rec := newRecorded(t, Config{Producer: "checkout"})
			before := time.Now().UTC().Add(-time.Second)
			got, err := p.Publish(tc.ctx, tc.ev)
			if err != nil {
				t.Fatalf("Publish: %v", err)
			}
			sent, raw := rec.last(t)
			var body map[string]any
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatalf("body is not JSON: %v\n%s", err, raw)
			}
			id, _ := body["event_id"].(string)
			if tc.wantID != "" && id != tc.wantID {
				t.Errorf("event_id = %q, want the event's own %q", id, tc.wantID)
			}
			if u, err := uuid.Parse(id); tc.wantID == "" && (err != nil || u.Version() != 4) {
				t.Errorf("event_id = %q, want a fresh UUID v4 (parse error: %v)", id, err)
			}
			if got.ID != id || sent.ID != id {
				t.Errorf("returned id %q and sent id %q differ from the body's event_id %q", got.ID, sent.ID, id)
			}
			if v, _ := body["event_version"].(float64); int(v) != tc.wantVersion {
				t.Errorf("event_version = %v, want %d", body["event_version"], tc.wantVersion)
			}
			if body["event_type"] != tc.wantType {
				t.Errorf("event_type = %v, want %s", body["event_type"], tc.wantType)
			}
			if body["producer"] != "checkout" {
				t.Errorf("producer = %v, want the Config's %q", body["producer"], "checkout")
			}
			occurred, _ := body["occurred_at"].(string)
			if tc.wantTime != "" && occurred != tc.wantTime {
				t.Errorf("occurred_at = %q, want %q (RFC 3339 UTC)", occurred, tc.wantTime)
			}
			if tc.wantTime == "" {
				ts, err := time.Parse(time.RFC3339Nano, occurred)
				if err != nil || !strings.HasSuffix(occurred, "Z") || ts.Before(before) || ts.After(time.Now().Add(time.Second)) {
					t.Errorf("occurred_at = %q, want now in RFC 3339 UTC (parse error: %v)", occurred, err)
				}
			}
			if s, _ := body["correlation_id"].(string); s != tc.wantCorr {
				t.Errorf("correlation_id = %q, want %q", s, tc.wantCorr)
			}
			if s, _ := body["causation_id"].(string); s != tc.wantCause {
				t.Errorf("causation_id = %q, want %q", s, tc.wantCause)
			}
			if got.Payload == nil {
				t.Errorf("returned event has no typed payload")
			}
		})
	}
}

func TestPublishRejectsInvalidEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ev   Event
		// pointers must each be named by the error.
		pointers    []string
		unknownType bool
	}{
		{
			name: "every data failure named",
			ev: Event{TenantID: "acme", Data: registry.OrderCreated{
				OrderID: "ord-1", CustomerID: "cus 1", CustomerEmail: "not-an-email", AmountMinor: -5, Currency: "usd",
			}},
			pointers: []string{"/data/customer_id", "/data/customer_email", "/data/amount_minor", "/data/currency"},
		},
		{
			name:     "bad envelope fields",
			ev:       Event{ID: "not-a-uuid", TenantID: "", Data: registry.TenantReactivated{TenantID: ""}},
			pointers: []string{"/event_id", "/tenant_id", "/data/tenant_id"},
		},
		{
			name:     "type differs from the payload's",
			ev:       Event{Type: "order.cancelled", TenantID: "acme", Data: registry.TenantReactivated{TenantID: "acme"}},
			pointers: []string{"/event_type"},
		},
		{
			name:        "unknown type",
			ev:          Event{Type: "unregistered.order_shipped", TenantID: "acme", Data: map[string]any{"order_id": "o"}},
			pointers:    []string{"/event_type"},
			unknownType: true,
		},
		{
			name:     "unknown version",
			ev:       Event{Type: "order.cancelled", Version: 9, TenantID: "acme", Data: registry.OrderCancelled{}},
			pointers: []string{"/event_version"},
		},
		{
			name:     "raw data that is not JSON",
			ev:       Event{Type: "tenant.reactivated", TenantID: "acme", Data: json.RawMessage(`{"tenant_id":`)},
			pointers: []string{"/data"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, rec := newRecorded(t, Config{})
			ev, err := p.Publish(context.Background(), tc.ev)
			if err == nil {
				t.Fatalf("Publish accepted an invalid event and returned %+v", ev)
			}
			if !errors.Is(err, registry.ErrInvalid) {
				t.Errorf("error does not match registry.ErrInvalid: %v", err)
			}
			if tc.unknownType && !errors.Is(err, registry.ErrUnknownType) {
				t.Errorf("error does not match registry.ErrUnknownType: %v", err)
			}
			var verr *registry.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("error does not wrap a *registry.ValidationError: %v", err)
			}
			for _, ptr := range tc.pointers {
				if !verr.HasPointer(ptr) || !strings.Contains(err.Error(), ptr) {
					t.Errorf("error does not name the failure at %s: %v", ptr, err)
				}
			}
			if n := rec.count(); n != 0 {
				t.Errorf("an invalid event was sent anyway: %d message(s)", n)
			}
		})
	}
}

func TestContextIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		ctx             context.Context
		corr, causation string
	}{
		{"empty", context.Background(), "", ""},
		{"correlation only", WithCorrelationID(context.Background(), "c1"), "c1", ""},
		{"both", WithCausationID(WithCorrelationID(context.Background(), "c1"), "e1"), "c1", "e1"},
		{"innermost wins", WithCorrelationID(WithCorrelationID(context.Background(), "c1"), "c2"), "c2", ""},
	}
	for _, tc := range tests {
		if got := CorrelationIDFrom(tc.ctx); got != tc.corr {
			t.Errorf("%s: CorrelationIDFrom = %q, want %q", tc.name, got, tc.corr)
		}
		if got := CausationIDFrom(tc.ctx); got != tc.causation {
			t.Errorf("%s: CausationIDFrom = %q, want %q", tc.name, got, tc.causation)
		}
	}
}
