package worker

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestEveryLineAboutAnEventNamesIt: the handler's own lines (logged with its context) and the
// pipeline's carry event_id, event_type, tenant_id, consumer, attempt and correlation_id; an
// invalid event's line names the tenant and correlation its body claims.
func TestEveryLineAboutAnEventNamesIt(t *testing.T) {
	e := newEnv(t, nil)
	e.start()
	id := uuid.NewString()
	var ev map[string]any
	if err := json.Unmarshal(e.example("tenant.reactivated", id), &ev); err != nil {
		t.Fatal(err)
	}
	ev["correlation_id"] = "corr-1"
	valid, _ := json.Marshal(ev)
	e.publish("tenant.reactivated", valid, nil)
	invalidID := uuid.NewString()
	ev["event_id"], ev["correlation_id"], ev["data"] = invalidID, "corr-2", map[string]any{}
	invalid, _ := json.Marshal(ev)
	e.publish("tenant.reactivated", invalid, nil)
	e.dead("tenants", 1, 15*time.Second)

	tests := []struct {
		msg  string
		want map[string]any
	}{
		{"test handler called", map[string]any{"event_id": id, "event_type": "tenant.reactivated", "tenant_id": ev["tenant_id"],
			"consumer": "tenants", "attempt": float64(1), "correlation_id": "corr-1"}},
		{"event dead-lettered", map[string]any{"event_id": invalidID, "event_type": "tenant.reactivated", "tenant_id": ev["tenant_id"],
			"consumer": "tenants", "attempt": float64(1), "correlation_id": "corr-2"}},
	}
	for _, tc := range tests {
		t.Run(tc.msg, func(t *testing.T) {
			var lines []map[string]any
			for _, l := range e.logs.lines(t, tc.msg) {
				if l["consumer"] == "tenants" {
					lines = append(lines, l)
				}
			}
			if len(lines) != 1 {
				t.Fatalf("%d %q lines of the tenants consumer, want 1", len(lines), tc.msg)
			}
			for k, v := range tc.want {
				if lines[0][k] != v {
					t.Errorf("%s = %#v, want %#v", k, lines[0][k], v)
				}
			}
		})
	}
}
