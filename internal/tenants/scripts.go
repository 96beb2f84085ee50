package tenants

import (
	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/internal/idempotency"
)

// Results of the scripts.
const (
	replyOlder     = 0 // a later event's write is stored: nothing changed
	replyStored    = 1
	replyDuplicate = 2 // the event's record was found: nothing changed
)

// saveProfileScript: KEYS[1] tenant hash, KEYS[2] the event's record when ARGV[2] is not "0";
// ARGV[1] stamp, ARGV[2] record TTL in ms or "0", ARGV[3..] field, value pairs.
// Stamps are fixed-width strings, so Lua's string comparison orders them. The record is
// written whatever the outcome: the event is handled.
var saveProfileScript = redis.NewScript(`
if ARGV[2] ~= '0' and redis.call('EXISTS', KEYS[2]) == 1 then
	return 2
end
local res = 0
local cur = redis.call('HGET', KEYS[1], 'profile_at')
if not (cur and cur > ARGV[1]) then
	for i = 3, #ARGV, 2 do
		redis.call('HSET', KEYS[1], ARGV[i], ARGV[i+1])
	end
	redis.call('HSET', KEYS[1], 'profile_at', ARGV[1])
	res = 1
end
if ARGV[2] ~= '0' then
	redis.call('SET', KEYS[2], '` + idempotency.DoneValue + `', 'PX', ARGV[2])
end
return res
`)

// setSuspendedScript: KEYS[1] tenant hash, KEYS[2] the event's record when ARGV[2] is not
// "0"; ARGV[1] stamp, ARGV[2] record TTL in ms or "0", ARGV[3] "1" or "0".
var setSuspendedScript = redis.NewScript(`
if ARGV[2] ~= '0' and redis.call('EXISTS', KEYS[2]) == 1 then
	return 2
end
local res = 0
local cur = redis.call('HGET', KEYS[1], 'suspended_at')
if not (cur and cur > ARGV[1]) then
	redis.call('HSET', KEYS[1], 'suspended', ARGV[3], 'suspended_at', ARGV[1])
	res = 1
end
if ARGV[2] ~= '0' then
	redis.call('SET', KEYS[2], '` + idempotency.DoneValue + `', 'PX', ARGV[2])
end
return res
`)

// recipientScript reads a tenant's hash and a customer's locale, storing the locale first when
// one is given. KEYS[1] tenant hash, KEYS[2] the customer's locale key (absent: no customer);
// ARGV[1] the locale to store or "", ARGV[2] its TTL in ms. Reply: {HGETALL of KEYS[1], the
// locale or false}.
var recipientScript = redis.NewScript(`
local locale = false
if KEYS[2] then
	if ARGV[1] ~= '' then
		redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
		locale = ARGV[1]
	else
		locale = redis.call('GET', KEYS[2])
	end
end
return {redis.call('HGETALL', KEYS[1]), locale}
`)
