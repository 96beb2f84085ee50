package outbox

import "errors"

// ErrInvalidConfig marks a relay Config that Validate rejects.
var ErrInvalidConfig = errors.New("invalid outbox relay config")
