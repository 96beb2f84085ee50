package cli

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"
)

// TestExitAfterDeadline: once the shutdown signal came, the process ends when the limit passes,
// unless the shutdown finished first.
func TestExitAfterDeadline(t *testing.T) {
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	for _, tc := range []struct {
		name     string
		finishIn time.Duration // 0: never
		wantExit bool
	}{
		{"shutdown overruns: exit", 0, true},
		{"shutdown in time: no exit", 20 * time.Millisecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exited := make(chan int, 1)
			e := &env{exit: func(code int) { exited <- code }}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go exitAfterDeadline(ctx, done, 100*time.Millisecond, quiet, e)
			cancel()
			if tc.finishIn > 0 {
				time.Sleep(tc.finishIn)
				close(done)
			}
			select {
			case code := <-exited:
				if !tc.wantExit || code != exitFail {
					t.Errorf("exit(%d), want exit %v", code, tc.wantExit)
				}
			case <-time.After(500 * time.Millisecond):
				if tc.wantExit {
					t.Error("no exit after the limit")
				}
			}
		})
	}
}
