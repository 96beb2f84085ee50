// Package cache keeps the Redis cache keys the worker shares with the Python services, which
// read them, as the contract's "Cache keys" section lays them out (P is Config.Prefix):
//
//	P tenant:{t}:product:{p}          JSON of the product's latest data, TTL Config.TTL
//	P tenant:{t}:products:gen         the tenant's product-list generation; absent means 0
//	P tenant:{t}:products:{gen}:...   lists cached by readers; never touched here
//	P tenant:{t}:user:{u}             a user's cached profile
//
// New builds the Cache on a go-redis client (one server, Sentinel or Cluster: the worker's
// internal/redisclient builds it from a URL). Reads degrade gracefully: GetJSON turns a Redis error or an undecodable value
// into a miss, since the caller can rebuild the value. Writes and invalidations return their
// errors, so the handler retries the event. Every operation costs the same whatever the size
// of the keyspace, except pattern purges, which walk it with SCAN in batches (never KEYS) so
// Redis keeps serving other clients meanwhile.
//
// # The product version guard
//
// RefreshProduct writes a product only when its version is newer than the one known, and
// then increments the tenant's generation, in one Lua script. The known version cannot be
// just the cached product's own "version": the product key expires after an hour and a
// tenant purge removes it, after which an old version delivered late (a redelivery, a retry,
// a dead-letter replay) would be written again and served for an hour. So the worker keeps
// a version record per product key, in its own namespace:
//
//	P eventworker:cache:product-version:{P tenant:acme:product:prod-7}
//
// (the braces are literal: a Redis Cluster hash tag, see below). It holds the last version
// written, as a decimal string, and lives Config.VersionTTL (30 days by default) from that
// write. Not being under "tenant:", it survives tenant purges, which moreover never remove
// P eventworker:* keys; nor does it expire with the product. So after the product key
// expired or was purged, a newer version is written and an older or equal one refused, for
// as long as the record lives. The cost is one small key per product written within
// VersionTTL; a version older than the newest, arriving after the product key and the
// record both expired, is written: accepted, since nothing newer is known then.
// When there is no record (it expired, or the key was written before the worker, by the
// Python consumer it replaces), the script falls back on the cached product's "version",
// read with cjson, where an absent field means 1 as in the contract.
//
// The braces make the record's Redis Cluster hash tag the product key itself (or the product
// key's own tag, when a prefix such as "{shop}:" gives it one), so both sit in one slot and
// one script may touch both. The generation sits in another slot, so on a Cluster the
// script only marks the record " pending" and Go increments the generation after it, then
// clears the mark: a failed increment is made by the handler's retry, which finds the mark,
// at the price of one extra increment at worst; a generation only grows. On one server or
// Sentinel, all of it is one script.
//
// # Purges
//
// Purge takes a SCAN MATCH pattern; Pattern and PatternPrefix build them from IDs with the
// glob characters * ? [ ] \ escaped, the prefix's too, so an ID like "a*" never widens a
// purge to tenant "ab". PurgeTenant removes P tenant:{t}:* on tenant.suspended, except the
// generation, which it increments: a generation number is never reused. No purge removes
// the worker's own keys (P eventworker:*) or any ":products:gen" key.
package cache
