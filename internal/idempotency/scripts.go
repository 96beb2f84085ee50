package idempotency

import "github.com/redis/go-redis/v9"

// doneValue marks a handled event. Lease tokens are 32 hex digits, so they never equal it.
const doneValue = "done"

// Results of beginScript.
const (
	beginAcquired = 0
	beginDone     = 1
	beginHeld     = 2
)

// beginScript: KEYS[1] record; ARGV[1] new token, ARGV[2] lease TTL in ms, ARGV[3] doneValue.
// SET NX first: the common case (a new event) costs one command inside the script.
var beginScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
	return 0
end
if redis.call('GET', KEYS[1]) == ARGV[3] then
	return 1
end
return 2
`)

// completeScript: KEYS[1] record; ARGV[1] done TTL in ms, ARGV[2] doneValue.
// It records done over our lease, an absent key and another replica's lease alike (see
// Lease.Complete); an existing done keeps its TTL, so the window counts from the first success.
var completeScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[2] then
	return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[1])
return 1
`)

// releaseScript: KEYS[1] record; ARGV[1] our token. Compare-and-delete: only our own lease goes.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`)

// renewScript: KEYS[1] record; ARGV[1] our token, ARGV[2] lease TTL in ms. Compare-and-expire:
// only our own lease is extended.
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`)
