package cache

import "github.com/redis/go-redis/v9"

// Results of refreshScript.
const (
	refreshRefused  = 0 // the version is not newer than the known one: nothing changed
	refreshWritten  = 1 // the product was written (and, with KEYS[3], the generation incremented)
	refreshIncrOwed = 2 // this version was written earlier but its increment is still owed
)

// pendingSuffix marks a version record whose generation increment is still owed; only the
// Cluster path, where the increment runs outside the script, writes it.
const pendingSuffix = " pending"

// refreshScript is the version guard of RefreshProduct, one atomic step.
//
// KEYS[1] product key, KEYS[2] its version record, KEYS[3] the tenant's generation: given
// on a single server or Sentinel, where the script increments it; absent on a Cluster,
// where it lives in another hash slot and Go increments it after the script.
// ARGV[1] version (decimal, >= 1, no leading zero), ARGV[2] product JSON, ARGV[3] product
// TTL in ms, ARGV[4] version-record TTL in ms.
//
// The known version is the record's; with no record (it expired, or the key predates the
// worker), the cached product's own "version" (absent means 1, as in the contract; an
// undecodable value counts as 0, so it is replaced). Versions compare as decimal strings,
// length first: exact beyond 2^53, where Lua's doubles are not.
//
// The INCR comes first: it is the command that can fail (a generation that is not an
// integer), and a script that fails half-way is not rolled back.
var refreshScript = redis.NewScript(`
local function newer(a, b)
	if #a ~= #b then return #a > #b end
	return a > b
end

local v = ARGV[1]
local known, pending
local rec = redis.call('GET', KEYS[2])
if rec then
	known = string.match(rec, '^%d+')
	pending = known ~= nil and #rec > #known
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

local here = #KEYS == 3
if newer(v, known) then
	if here then
		redis.call('INCR', KEYS[3])
		redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
		redis.call('SET', KEYS[2], v, 'PX', ARGV[4])
	else
		redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
		redis.call('SET', KEYS[2], v .. '` + pendingSuffix + `', 'PX', ARGV[4])
	end
	return 1
end
if pending and v == known then
	if here then
		redis.call('INCR', KEYS[3])
		redis.call('SET', KEYS[2], v, 'KEEPTTL')
	end
	return 2
end
return 0
`)

// settleScript clears the owed-increment mark of a version record once Go has incremented
// the generation, unless a newer version replaced the record meanwhile.
// KEYS[1] version record; ARGV[1] version.
var settleScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] .. '` + pendingSuffix + `' then
	redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL')
	return 1
end
return 0
`)
