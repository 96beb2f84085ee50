package cache

import "errors"

// acceptedURLs lists the Redis URL forms NewClient accepts, for its errors.
const acceptedURLs = "redis://[user:pass@]host:6379[/db][?opts], rediss://... (TLS), " +
	"unix://[user:pass@]/path/to/redis.sock[?db=N], " +
	"redis+sentinel://[user:pass@]host1:26379,host2:26379/MASTER[/db][?opts], " +
	"redis+cluster://[user:pass@]host1:6379,host2:6379[?opts] " +
	"(rediss+sentinel:// and rediss+cluster:// for TLS)"

var (
	// ErrInvalidURL is returned by NewClient for a Redis URL it cannot use; its message lists
	// the accepted forms.
	ErrInvalidURL = errors.New("cache: invalid Redis URL; accepted forms: " + acceptedURLs)
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
