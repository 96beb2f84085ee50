package tenants

import "errors"

var (
	// ErrInvalidID reports an empty tenant or user ID.
	ErrInvalidID = errors.New("invalid tenant or user ID")
	// ErrUnexpectedReply reports a Redis reply the scripts never give.
	ErrUnexpectedReply = errors.New("unexpected reply from redis")
)
