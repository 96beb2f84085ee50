package cache

import "github.com/redis/go-redis/v9"

// ForceClusterPath makes c behave as on a Redis Cluster (per-key UNLINK, the generation
// increment outside the script), so a single test server exercises that path too.
func ForceClusterPath(c *Cache) { c.split = true }

// VersionKey exposes the key of the version record guarding productKey.
func (c *Cache) VersionKey(productKey string) string { return c.versionKey(productKey) }

// HashTag exposes the Redis Cluster hash-tag rule.
var HashTag = hashTag

// ParseURL exposes what NewClient parsed, since Sentinel and Cluster clients hide their
// options; exactly one of the three is non-nil without an error.
func ParseURL(raw string) (*redis.Options, *redis.FailoverOptions, *redis.ClusterOptions, error) {
	p, err := parseURL(raw)
	return p.simple, p.failover, p.cluster, err
}

// RedactURL exposes the redaction of URLs in errors.
var RedactURL = redactURL

// PendingSuffix is the mark of an owed generation increment on a version record.
const PendingSuffix = pendingSuffix
