package idempotency

import "errors"

var (
	// ErrInvalidKey is returned by Begin for an empty consumer or event ID, or a consumer
	// containing ':', which would make two records share a key.
	ErrInvalidKey = errors.New("idempotency: invalid consumer or event ID")
	// ErrLeaseFinished is returned by Complete or Release on a lease already completed or
	// released: a caller bug, and nothing was changed.
	ErrLeaseFinished = errors.New("idempotency: lease already completed or released")
	// ErrUnexpectedReply is returned when a script answers with something it never returns.
	ErrUnexpectedReply = errors.New("idempotency: unexpected reply from Redis")
)
