package worker

import (
	"errors"
	"fmt"
	"testing"

	"github.com/eventworker/eventworker/internal/worker/handling"
)

func TestFateOf(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		err  error
		want fate
	}{
		{"success", nil, fateDone},
		{"a plain error", boom, fateTransient},
		{"permanent", handling.Permanent(boom), fatePermanent},
		{"duplicate, wrapped", fmt.Errorf("cache: %w", handling.ErrDuplicate), fateDuplicate},
		{"suppressed, wrapped", fmt.Errorf("email: %w", handling.ErrSuppressed), fateSuppressed},
		{"unavailable", handling.Unavailable(boom), fateWait},
		{"later", handling.Later(boom), fateWait},
		{"permanent wins over unavailable", handling.Permanent(handling.Unavailable(boom)), fatePermanent},
		{"permanent wins over suppressed", handling.Permanent(fmt.Errorf("x: %w", handling.ErrSuppressed)), fatePermanent},
		{"unavailable behind a wrap", fmt.Errorf("send: %w", handling.Unavailable(boom)), fateWait},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := fateOf(tc.err); got != tc.want {
				t.Errorf("fateOf(%v) = %d, want %d", tc.err, got, tc.want)
			}
		})
	}
}
