package cache

import "errors"

var (
	// ErrInvalidConfig is returned by Config.Validate and New, joined with each problem.
	ErrInvalidConfig = errors.New("cache: invalid config")
	// ErrInvalidID is returned for an empty tenant, product or user ID, and on a Redis Cluster
	// for IDs whose braces keep a product key and its version record in different hash slots.
	ErrInvalidID = errors.New("cache: invalid ID")
	// ErrInvalidProduct is returned by RefreshProduct for a version below 1, a product JSON
	// that is not a JSON object, or one whose "version" differs from the version given.
	ErrInvalidProduct = errors.New("cache: invalid product")
	// ErrInvalidTarget is returned by GetJSON when v is not a non-nil pointer: a caller bug,
	// not a miss.
	ErrInvalidTarget = errors.New("cache: GetJSON needs a non-nil pointer")
	// ErrInvalidPattern is returned by Purge for an empty pattern or one outside the prefix.
	ErrInvalidPattern = errors.New("cache: invalid purge pattern")
	// ErrUnexpectedReply is returned when Redis answers with something a script never returns.
	ErrUnexpectedReply = errors.New("cache: unexpected reply from Redis")
)
