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
