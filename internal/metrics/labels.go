package metrics

// Outcomes of one delivery for one consumer: the outcome label of eventworker_handler_outcomes_total.
const (
	// OutcomeOK: the handler succeeded and the event was acknowledged.
	OutcomeOK = "ok"
	// OutcomeRetried: the delivery failed transiently and went to a retry queue.
	OutcomeRetried = "retried"
	// OutcomeDeadLettered: the delivery went to the consumer's dead-letter queue.
	OutcomeDeadLettered = "dead_lettered"
	// OutcomeDuplicate: the event was already handled and was acknowledged without a new run.
	OutcomeDuplicate = "duplicate"
	// OutcomeSuppressed: the handler chose not to act (e.g. an email to a suspended tenant).
	OutcomeSuppressed = "suppressed"
	// OutcomeInvalid: the message failed validation and was dead-lettered unread.
	OutcomeInvalid = "invalid"
	// OutcomeRenewed: the message came back unacknowledged as often as the quorum queue's
	// delivery limit allows, without a run of its handler dying, and was published anew with a
	// fresh delivery count instead of being dead-lettered by the broker.
	OutcomeRenewed = "renewed"
)

// Classes of dead letter: the class label of eventworker_dead_letters_total.
const (
	// ClassPermanent: a failure that no retry can fix.
	ClassPermanent = "permanent"
	// ClassExhausted: transient failures until the attempts ran out.
	ClassExhausted = "exhausted"
	// ClassDeliveryLimit: the handler kept dying with its process (see the worker's poison
	// guard).
	ClassDeliveryLimit = "delivery_limit"
)

// AllOutcomes returns every outcome label value, in a fixed order.
func AllOutcomes() []string {
	return []string{OutcomeOK, OutcomeRetried, OutcomeDeadLettered, OutcomeDuplicate, OutcomeSuppressed, OutcomeInvalid, OutcomeRenewed}
}

// AllClasses returns every dead-letter class label value, in a fixed order.
func AllClasses() []string {
	return []string{ClassPermanent, ClassExhausted, ClassDeliveryLimit}
}
