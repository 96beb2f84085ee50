package registry

import (
	"fmt"
	"testing"
)

func TestEmailFormat(t *testing.T) {
	reg, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		email string
		ok    bool
	}{
		{"alice@example.com", true},
		{"a.b+tag@sub.example.co.uk", true},
		{"jörg@example.de", true},
		{`"bob\r\nBcc: x@evil.test"@example.com`, false},
		{`"quoted"@example.com`, false},
		{"bob @example.com", false},
		{"Bob <bob@example.com>", false},
		{"bob@example.com, eve@example.com", false},
		{"no-at-sign", false},
		{"tab\t@example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.email, func(t *testing.T) {
			body := fmt.Sprintf(`{"event_id":"6f1c2a9e-4b7d-4f7a-9a51-2d3c4e5f6a7b","event_type":"user.registered","event_version":1,
				"occurred_at":"2026-11-26T10:00:00Z","tenant_id":"acme","data":{"user_id":"u","email":%q}}`, tt.email)
			_, err := reg.Validate("user.registered", []byte(body))
			if tt.ok && err != nil {
				t.Errorf("valid address refused: %v", err)
			}
			if !tt.ok {
				verr, isV := err.(*ValidationError)
				if !isV || !verr.HasPointer("/data/email") {
					t.Errorf("Validate = %v, want a failure at /data/email", err)
				}
			}
		})
	}
}

// Ids end up in Redis keys and SCAN patterns; the identifier pattern keeps glob characters out
// (the cache package escapes them as well, for callers that skip validation).
func TestIdentifiersRefuseGlobCharacters(t *testing.T) {
	reg, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a*", "a?", "[ab]", `a\b`, "a]", "a b", "a{b}", "*"} {
		t.Run(id, func(t *testing.T) {
			for _, field := range []struct{ pointer, body string }{
				{"/tenant_id", fmt.Sprintf(`{"event_id":"6f1c2a9e-4b7d-4f7a-9a51-2d3c4e5f6a7b","event_type":"user.updated","event_version":1,
					"occurred_at":"2026-11-26T10:00:00Z","tenant_id":%q,"data":{"user_id":"u"}}`, id)},
				{"/data/user_id", fmt.Sprintf(`{"event_id":"6f1c2a9e-4b7d-4f7a-9a51-2d3c4e5f6a7b","event_type":"user.updated","event_version":1,
					"occurred_at":"2026-11-26T10:00:00Z","tenant_id":"acme","data":{"user_id":%q}}`, id)},
			} {
				_, err := reg.Validate("user.updated", []byte(field.body))
				verr, ok := err.(*ValidationError)
				if !ok || !verr.HasPointer(field.pointer) {
					t.Errorf("%s = %q: Validate = %v, want a failure at %s", field.pointer, id, err, field.pointer)
				}
			}
		})
	}
}
