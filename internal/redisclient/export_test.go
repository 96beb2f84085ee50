package redisclient

import (
	"time"

	"github.com/redis/go-redis/v9"
)

// ParseURL exposes what New parsed, since Sentinel and Cluster clients hide their
// options; exactly one of the three is non-nil without an error.
func ParseURL(raw string) (*redis.Options, *redis.FailoverOptions, *redis.ClusterOptions, error) {
	p, err := parseURL(raw)
	return p.simple, p.failover, p.cluster, err
}

// RedactURL exposes the redaction of URLs in errors.
var RedactURL = redactURL

// WaitOptions exposes what New takes of wait_replicas and wait_timeout, and the URL it leaves.
func WaitOptions(raw string) (string, int, time.Duration, error) {
	rest, w, err := takeWaitOptions(raw)
	return rest, w.replicas, w.timeout, err
}
