package health

import "errors"

var (
	// ErrCheckTimeout is the error of a check that did not answer within CheckTimeout.
	ErrCheckTimeout = errors.New("health: check timed out")
	// ErrNoCheckFunc is the error of a Check whose Fn is nil.
	ErrNoCheckFunc = errors.New("health: check has no function")
	// ErrAlreadyStarted is returned by a second Start.
	ErrAlreadyStarted = errors.New("health: server already started")
)
