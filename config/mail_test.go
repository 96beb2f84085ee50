package config

import (
	"slices"
	"testing"
)

func TestParseMailHeaders(t *testing.T) {
	got, err := ParseMailHeaders(" X-PM-Tag = transactional ;Feedback-ID={template}:{tenant}:shop;")
	want := []MailHeader{{"X-PM-Tag", "transactional"}, {"Feedback-ID", "{template}:{tenant}:shop"}}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("ParseMailHeaders = %v, %v; want %v", got, err, want)
	}
	for _, bad := range []string{"X-Tag", "X Tag=1", "=value", "X-Tag:=1"} {
		if _, err := ParseMailHeaders(bad); err == nil {
			t.Errorf("ParseMailHeaders(%q) accepted it", bad)
		}
	}
}

func TestParseMailDisable(t *testing.T) {
	d, err := ParseMailDisable("low_stock, acme/welcome, globex/*")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		tenant, template string
		want             bool
	}{
		{"any", "low_stock", true},
		{"acme", "welcome", true},
		{"other", "welcome", false},
		{"acme", "order_received", false},
		{"globex", "order_received", true},
	}
	for _, tt := range tests {
		if got := d.Disabled(tt.tenant, tt.template); got != tt.want {
			t.Errorf("Disabled(%s, %s) = %v, want %v", tt.tenant, tt.template, got, tt.want)
		}
	}
	for _, bad := range []string{"lowstock", "acme/", "/welcome", "*", "acme/nope"} {
		if _, err := ParseMailDisable(bad); err == nil {
			t.Errorf("ParseMailDisable(%q) accepted it", bad)
		}
	}
}
