package publisher

import "errors"

// Sentinel errors; match them with errors.Is. A body that the registry rejects yields an error
// that matches registry.ErrInvalid and wraps the *registry.ValidationError.
var (
	// ErrInvalidConfig marks a Config that Validate rejects.
	ErrInvalidConfig = errors.New("invalid publisher config")
	// ErrClosed is returned by Publish after Close.
	ErrClosed = errors.New("publisher closed")
	// ErrUnroutable means the broker returned the event: no queue is bound to the exchange for
	// its routing key, so nobody would have received it.
	ErrUnroutable = errors.New("event unroutable")
	// ErrNacked means the broker refused the event with a negative publisher confirm.
	ErrNacked = errors.New("event nacked by the broker")
	// ErrConfirmTimeout means no publisher confirm arrived within Config.ConfirmTimeout; the
	// broker may or may not have the event, so publish it again with the same event_id.
	ErrConfirmTimeout = errors.New("publisher confirm timed out")
	// ErrConnectionLost means the AMQP connection closed while the event was in flight, and the
	// one retry on a new connection failed too.
	ErrConnectionLost = errors.New("AMQP connection lost")
)
