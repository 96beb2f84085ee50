package cache

import (
	"strings"

	"github.com/eventworker/eventworker/internal/rediskey"
)

// versionSpace is the worker's own namespace for product version records: under the prefix
// but never under "tenant:", so no tenant purge erases them.
const versionSpace = "eventworker:cache:product-version:"

// Key returns Prefix + parts joined with ":", e.g. Key("tenant", "acme", "user", "u1").
func (c *Cache) Key(parts ...string) string {
	return c.prefix + strings.Join(parts, ":")
}

// Pattern returns a SCAN MATCH pattern that matches exactly Key(parts...): the prefix and
// every part are glob-escaped, so an ID holding *, ?, [, ] or \ never widens it.
func (c *Cache) Pattern(parts ...string) string {
	return escapeGlob(c.Key(parts...))
}

// PatternPrefix returns a SCAN MATCH pattern for every key under Key(parts...) + ":", e.g.
// PatternPrefix("tenant", "acme") matches P tenant:acme:*; with no parts, every key under
// the prefix. Only the final * is a wildcard.
func (c *Cache) PatternPrefix(parts ...string) string {
	if len(parts) == 0 {
		return escapeGlob(c.prefix) + "*"
	}
	return c.Pattern(parts...) + ":*"
}

// escapeGlob escapes the characters Redis's glob matching gives a meaning: * ? [ ] \.
// They are ASCII, so escaping byte by byte leaves UTF-8 intact.
func escapeGlob(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func (c *Cache) productKey(tenantID, productID string) string {
	return c.Key("tenant", tenantID, "product", productID)
}

func (c *Cache) generationKey(tenantID string) string {
	return c.Key("tenant", tenantID, "products", "gen")
}

func (c *Cache) userKey(tenantID, userID string) string {
	return c.Key("tenant", tenantID, "user", userID)
}

// versionKey returns the key of the version record guarding productKey. It embeds the
// product key's hash-tag string in a tag of its own, so that on a Redis Cluster both keys
// sit in one hash slot and one script may touch both; and it is a function of the product
// key, one record per cached product:
//
//	P eventworker:cache:product-version:{P tenant:T:product:ID}          (no tag in the key)
//	P eventworker:cache:product-version:{TAG}:P tenant:T:product:ID      (the key has {TAG})
func (c *Cache) versionKey(productKey string) string {
	tag := hashTag(productKey)
	if tag == productKey {
		return c.prefix + versionSpace + "{" + productKey + "}"
	}
	return c.prefix + versionSpace + "{" + tag + "}:" + productKey
}

// hashTag returns the part of key Redis Cluster hashes.
func hashTag(key string) string { return rediskey.HashTag(key) }

// isProtected reports whether a purge must keep key whatever its pattern: the worker's own
// state, and every tenant's product-list generation, which is never reset because a
// generation number is never reused. The suffix test also protects the generation of a
// tenant whose ID extends another's ("acme:eu" under a purge of "acme").
func (c *Cache) isProtected(key string) bool {
	return strings.HasPrefix(key, c.prefix+"eventworker:") || strings.HasSuffix(key, ":products:gen")
}
