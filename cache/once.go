package cache

// Once names the event a write belongs to: the worker's consumer and the event's ID. A write
// given a Once applies its effect at most once per event: its Lua script looks for the event's
// idempotency record (P eventworker:idem:CONSUMER:{TAG}:EVENT_ID, in the hash slot of a key
// the write touches) and writes it in the same atomic step as the effect, so a redelivered
// event finds it and changes nothing, in one round trip. The record lives Config.RecordTTL.
// The zero Once writes no record.
type Once struct {
	Consumer string
	EventID  string
}

func (o Once) set() bool { return o != Once{} }

// Outcome is what a write given a Once did.
type Outcome int

// Outcomes of the writes.
const (
	// Written: the effect happened now.
	Written Outcome = iota + 1
	// Refused: RefreshProduct's version was not newer than the one known, so nothing was
	// written; the event is handled all the same (its record is written).
	Refused
	// Duplicate: the event's record was found; it was handled before and nothing changed.
	Duplicate
)

// String names the outcome, for logs and tests.
func (o Outcome) String() string {
	switch o {
	case Written:
		return "written"
	case Refused:
		return "refused"
	case Duplicate:
		return "duplicate"
	default:
		return "unknown"
	}
}
