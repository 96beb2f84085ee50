package idempotency

// State is what Begin found for an event.
type State int

const (
	// StateUnknown is returned with an error: nothing is known, nothing was changed.
	StateUnknown State = iota
	// StateAcquired means this caller holds the lease and must run the handler, then Complete
	// or Release the lease.
	StateAcquired
	// StateDone means the event was already handled: acknowledge it without running the handler.
	StateDone
	// StateHeld means another replica holds a live lease: retry the event later.
	StateHeld
)

// String returns the state's name, for logs.
func (s State) String() string {
	switch s {
	case StateAcquired:
		return "acquired"
	case StateDone:
		return "done"
	case StateHeld:
		return "held"
	default:
		return "unknown"
	}
}
