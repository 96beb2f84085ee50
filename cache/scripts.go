package cache

import (
	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/internal/idempotency"
)

// Results of refreshScript.
const (
	refreshRefused   = 0 // the version is not newer than the known one: nothing changed
	refreshWritten   = 1 // the product was written (and, with the generation given, it was incremented)
	refreshIncrOwed  = 2 // this version was written earlier but its increment is still owed
	refreshDuplicate = 3 // the event's record was found: handled before, nothing changed
)

// pendingSuffix marks a version record whose generation increment is still owed; only the
// Cluster path, where the increment runs outside the script, writes it.
const pendingSuffix = " pending"

// refreshScript is the version guard of RefreshProduct, one atomic step.
//
// KEYS[1] product key, KEYS[2] its version record; then the event's idempotency record when
// ARGV[5] is not "0"; then the tenant's generation when ARGV[6] is "1": given on a single
// server or Sentinel, where the script increments it; absent on a Cluster, where it lives in
// another hash slot and Go increments it after the script.
// ARGV[1] version (decimal, >= 1, no leading zero), ARGV[2] product JSON, ARGV[3] product
// TTL in ms, ARGV[4] version-record TTL in ms, ARGV[5] event-record TTL in ms or "0" for no
// record, ARGV[6] "1" when the generation is given.
//
// An event whose record exists changes nothing. The known version is the version record's;
// with no record (it expired, or the key predates the worker), the cached product's own
// "version" (absent means 1, as in the contract; an undecodable value counts as 0, so it is
// replaced). Versions compare as decimal strings, length first: exact beyond 2^53, where Lua's
// doubles are not. The event's record is written with the outcome, except where Go still owes
// the increment (the Cluster path): settleScript writes it then.
//
// The INCR comes first: it is the command that can fail (a generation that is not an
// integer), and a script that fails half-way is not rolled back.
var refreshScript = redis.NewScript(`
local function newer(a, b)
	if #a ~= #b then return #a > #b end
	return a > b
end

local n = 3
local rec, gen
if ARGV[5] ~= '0' then
	rec = KEYS[n]
	n = n + 1
end
if ARGV[6] == '1' then
	gen = KEYS[n]
end
if rec and redis.call('EXISTS', rec) == 1 then
	return 3
end

local v = ARGV[1]
local known, pending
local vrec = redis.call('GET', KEYS[2])
if vrec then
	known = string.match(vrec, '^%d+')
	pending = known ~= nil and #vrec > #known
end
if not known then
	known = '0'
	local cur = redis.call('GET', KEYS[1])
	if cur then
		local ok, doc = pcall(cjson.decode, cur)
		if ok and type(doc) == 'table' then
			local cv = doc['version']
			if cv == nil then
				known = '1'
			elseif type(cv) == 'number' and cv >= 0 then
				known = string.format('%.0f', math.floor(cv))
			end
		end
	end
end

local res = 0
if newer(v, known) then
	if gen then
		redis.call('INCR', gen)
		redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
		redis.call('SET', KEYS[2], v, 'PX', ARGV[4])
	else
		redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
		redis.call('SET', KEYS[2], v .. '` + pendingSuffix + `', 'PX', ARGV[4])
		return 1
	end
	res = 1
elseif pending and v == known then
	if not gen then
		return 2
	end
	redis.call('INCR', gen)
	redis.call('SET', KEYS[2], v, 'KEEPTTL')
	res = 2
end
if rec then
	redis.call('SET', rec, '` + doneRecord + `', 'PX', ARGV[5])
end
return res
`)

// settleScript clears the owed-increment mark of a version record once Go has incremented
// the generation, unless a newer version replaced the record meanwhile, and writes the event's
// record when one is given.
// KEYS[1] version record, KEYS[2] the event's record when ARGV[2] is not "0"; ARGV[1] version,
// ARGV[2] event-record TTL in ms or "0".
var settleScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] .. '` + pendingSuffix + `' then
	redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL')
end
if ARGV[2] ~= '0' then
	redis.call('SET', KEYS[2], '` + doneRecord + `', 'PX', ARGV[2])
end
return 1
`)

// dropUserScript: KEYS[1] the user's cache entry, KEYS[2] the event's record; ARGV[1] record
// TTL in ms. Returns 1, or 0 when the record was there.
var dropUserScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[2]) == 1 then
	return 0
end
redis.call('UNLINK', KEYS[1])
redis.call('SET', KEYS[2], '` + doneRecord + `', 'PX', ARGV[1])
return 1
`)

// doneRecord is what an event's record holds.
const doneRecord = idempotency.DoneValue
