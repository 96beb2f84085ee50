package redisclient

import "errors"

// acceptedURLs lists the Redis URL forms New accepts, for its errors.
const acceptedURLs = "redis://[user:pass@]host:6379[/db][?opts], rediss://... (TLS), " +
	"unix://[user:pass@]/path/to/redis.sock[?db=N], " +
	"redis+sentinel://[user:pass@]host1:26379,host2:26379/MASTER[/db][?opts], " +
	"redis+cluster://[user:pass@]host1:6379,host2:6379[?opts] " +
	"(rediss+sentinel:// and rediss+cluster:// for TLS)"

// ErrInvalidURL is returned by New for a Redis URL it cannot use; its message lists the
// accepted forms.
var ErrInvalidURL = errors.New("invalid Redis URL; accepted forms: " + acceptedURLs)
