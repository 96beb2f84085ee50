package inventory

import "errors"

var (
	// ErrInvalidObservation reports an observation that cannot be recorded: an empty ID or a
	// negative quantity, threshold or version.
	ErrInvalidObservation = errors.New("invalid inventory observation")
	// ErrUnexpectedReply reports a Redis reply the script never gives.
	ErrUnexpectedReply = errors.New("unexpected reply from redis")
)
