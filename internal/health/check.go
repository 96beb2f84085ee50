package health

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Check is one readiness condition, such as a dependency answering a ping.
type Check struct {
	// Name labels the check in /readyz, e.g. "redis".
	Name string
	// Fn returns nil when the condition holds. It must honour ctx, which ends after the
	// server's CheckTimeout, and its error must not contain secrets: /readyz shows it.
	Fn func(ctx context.Context) error
	// Detail, when set, says more of a check that holds, e.g. the node a connection is on;
	// /readyz prints it under "ready". It must not contain secrets either.
	Detail func() string
}

// checkResult is a failed check, ready to print.
type checkResult struct {
	name string
	err  error
}

// line renders the failure on one line, so a multi-line error cannot forge other entries.
func (r checkResult) line() string {
	msg := strings.Join(strings.Fields(r.err.Error()), " ")
	return r.name + ": " + msg
}

// run calls c.Fn within timeout. A check that ignores its context is abandoned at the timeout
// (its goroutine ends whenever Fn returns); a panic is reported as a failure rather than
// taking the worker down with its probe.
func (c Check) run(ctx context.Context, timeout time.Duration) error {
	if c.Fn == nil {
		return ErrNoCheckFunc
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("check panicked: %v", r)
			}
		}()
		done <- c.Fn(ctx)
	}()
	select {
	case err := <-done:
		// A check that failed because its time ran out reads the same as one that ignored it.
		if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return timedOut(timeout)
		}
		return err
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return timedOut(timeout)
		}
		return fmt.Errorf("check abandoned: %w", ctx.Err())
	}
}

func timedOut(timeout time.Duration) error {
	return fmt.Errorf("no answer within %s: %w", timeout, ErrCheckTimeout)
}
