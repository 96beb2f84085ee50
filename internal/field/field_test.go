package field

import (
	"errors"
	"fmt"
	"testing"
)

func TestRename(t *testing.T) {
	names := map[string]string{"Prefetch": "EVENTWORKER_PREFETCH", "Concurrency": "EVENTWORKER_CONCURRENCY"}
	tests := []struct {
		name    string
		err     error
		plain   string
		renamed string
	}{
		{"a field and a field it names", Errorf("Prefetch", "%d is below {Concurrency} (%d)", 4, 8),
			"Prefetch: 4 is below Concurrency (8)", "EVENTWORKER_PREFETCH: 4 is below EVENTWORKER_CONCURRENCY (8)"},
		{"a field without a name", Errorf("Other", "bad"), "Other: bad", "Other: bad"},
		{"joined, wrapped and foreign errors", errors.Join(fmt.Errorf("worker: %w", Errorf("Prefetch", "too low")), errors.New("plain")),
			"worker: Prefetch: too low\nplain", "EVENTWORKER_PREFETCH: too low\nplain"},
		{"nil", nil, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Rename(tc.err, names)
			if tc.err == nil {
				if got != nil {
					t.Errorf("Rename(nil) = %v", got)
				}
				return
			}
			if tc.err.Error() != tc.plain || got.Error() != tc.renamed {
				t.Errorf("Error() = %q, Rename = %q; want %q, %q", tc.err.Error(), got.Error(), tc.plain, tc.renamed)
			}
		})
	}
}
