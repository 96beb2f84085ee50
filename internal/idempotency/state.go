package idempotency

import "github.com/eventworker/eventworker/internal/worker/dedupe"

// State is what Begin found for an event (dedupe.State, the worker's).
type State = dedupe.State

// The states of Begin.
const (
	StateUnknown  = dedupe.Unknown
	StateAcquired = dedupe.Acquired
	StateDone     = dedupe.Done
	StateHeld     = dedupe.Held
)
