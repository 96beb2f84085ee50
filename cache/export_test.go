package cache

// ForceClusterPath makes c behave as on a Redis Cluster (per-key UNLINK, the generation
// increment outside the script), so a single test server exercises that path too.
func ForceClusterPath(c *Cache) { c.split = true }

// VersionKey exposes the key of the version record guarding productKey.
func (c *Cache) VersionKey(productKey string) string { return c.versionKey(productKey) }

// HashTag exposes the Redis Cluster hash-tag rule.
var HashTag = hashTag

// PendingSuffix is the mark of an owed generation increment on a version record.
const PendingSuffix = pendingSuffix
