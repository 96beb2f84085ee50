package registry

import "testing"

func TestDecimalMinor(t *testing.T) {
	tests := []struct {
		in       Decimal
		currency string
		want     int64
		wantErr  bool
	}{
		{"19.99", "USD", 1999, false},
		{"100", "JPY", 100, false},
		{"1.234", "BHD", 1234, false},
		{"0.1", "USD", 10, false},
		{"0.005", "USD", 1, false},
		{"0.004", "USD", 0, false},
		{"1e2", "EUR", 10000, false},
		{"99999999999.99", "USD", 9999999999999, false},
		{"1", "XYZ", 0, true},
		{"1e30", "USD", 0, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.in)+" "+tt.currency, func(t *testing.T) {
			got, err := tt.in.Minor(tt.currency)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestDecimalFromMinor(t *testing.T) {
	tests := []struct {
		minor    int64
		currency string
		want     Decimal
	}{
		{1999, "USD", "19.99"},
		{100, "JPY", "100"},
		{1234, "BHD", "1.234"},
		{5, "EUR", "0.05"},
	}
	for _, tt := range tests {
		got, err := DecimalFromMinor(tt.minor, tt.currency)
		if err != nil || got != tt.want {
			t.Errorf("DecimalFromMinor(%d, %s) = %q, %v; want %q", tt.minor, tt.currency, got, err, tt.want)
		}
		back, err := got.Minor(tt.currency)
		if err != nil || back != tt.minor {
			t.Errorf("round trip of %d %s gave %d, %v", tt.minor, tt.currency, back, err)
		}
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"2026-11-26T10:00:00.123456", "2026-11-26T10:00:00.123456Z", false},
		{"2026-11-26T10:00:00", "2026-11-26T10:00:00Z", false},
		{"2026-11-26T11:00:00+01:00", "2026-11-26T10:00:00Z", false},
		{"2026-11-26T10:00:00Z", "2026-11-26T10:00:00Z", false},
		{"2026-11-26", "", true},
		{"yesterday", "", true},
		{"2026-13-01T00:00:00", "", true},
	}
	for _, tt := range tests {
		got, err := ParseTime(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseTime(%q) err = %v", tt.in, err)
			continue
		}
		if err == nil && FormatTime(got) != tt.want {
			t.Errorf("ParseTime(%q) = %s, want %s", tt.in, FormatTime(got), tt.want)
		}
	}
}
