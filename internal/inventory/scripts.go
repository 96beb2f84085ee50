package inventory

import "github.com/redis/go-redis/v9"

// Replies of observeScript, the first element of its reply.
const (
	replyRecorded  = "recorded"
	replyDuplicate = "duplicate"
	replyTooLate   = "late"
	replyUnknown   = "unknown"
)

// Kinds of observation passed to observeScript.
const (
	kindProduct = "product"
	kindItem    = "item"
)

// observeScript records one observation; see the package documentation for the algorithm.
//
// KEYS: 1 timeline (zset), 2 observations (hash), 3 pending (hash), 4 product (hash), 5 claims
// (hash).
// ARGV: 1 order key, 2 alert event_id, 3 kind, 4 quantity, 5 threshold, 6 name, 7 sku,
// 8 version, 9 max observations, 10 TTL in ms, 11 claim TTL in ms. Threshold, name and sku are
// empty for an item.
// Reply: {outcome, pending alert JSON of ARGV[2] or nil, 1 when that alert is claimed by
// another delivery (and not returned) else 0}. A pending alert is returned with a claim on it
// until Redis's clock passes the claim's end: another delivery of the same event meanwhile
// does not get it, so concurrent deliveries do not publish it twice.
//
// Redis runs Lua with the server's collation locale, so string comparison with < could differ
// from ZRANGEBYLEX's byte order; cmp compares bytes. Quantities are compared as decimal
// strings (no leading zeros, non-negative), which stays exact where Lua's doubles would not.
var observeScript = redis.NewScript(`
local function cmp(a, b)
	local n = math.min(#a, #b)
	for i = 1, n do
		local x, y = string.byte(a, i), string.byte(b, i)
		if x ~= y then
			if x < y then return -1 end
			return 1
		end
	end
	if #a == #b then return 0 end
	if #a < #b then return -1 end
	return 1
end
local function le(a, b)
	if #a ~= #b then return #a < #b end
	return cmp(a, b) <= 0
end
local function state(v)
	if not v then return nil end
	local o = cjson.decode(v)
	if le(o.q, o.t) then return 'L' end
	return 'H'
end
local function fall(a, b)
	if a == 'H' and b == 'L' then return 1 end
	return 0
end

local key, id, kind = ARGV[1], ARGV[2], ARGV[3]
local qty, thr, name, sku = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local outcome
if kind == 'product' then
	-- The product record follows the highest version, whatever the order of arrival.
	local cur = redis.call('HGET', KEYS[4], 'version')
	if not cur or le(cur, ARGV[8]) then
		redis.call('HSET', KEYS[4], 'version', ARGV[8], 'name', name, 'sku', sku, 'threshold', thr)
	end
else
	local info = redis.call('HMGET', KEYS[4], 'name', 'sku', 'threshold')
	if info[3] then
		name, sku, thr = info[1] or '', info[2] or '', info[3]
	end
end

local floor = redis.call('HGET', KEYS[4], 'floor')
if thr == '' then
	outcome = 'unknown'
elseif redis.call('HEXISTS', KEYS[2], key) == 1 then
	outcome = 'duplicate'
elseif floor and cmp(key, floor) <= 0 then
	outcome = 'late'
else
	outcome = 'recorded'
	local obs = cjson.encode({q = qty, t = thr, name = name, sku = sku, at = string.sub(key, 1, 20)})
	local x = 'H'
	if le(qty, thr) then x = 'L' end
	-- Before the first observation the state is unknown (nil), unless a trimmed one stands there.
	local prev, nextState, nextObs
	local p = redis.call('ZREVRANGEBYLEX', KEYS[1], '(' .. key, '-', 'LIMIT', 0, 1)
	if p[1] then
		prev = state(redis.call('HGET', KEYS[2], p[1]))
	elseif floor then
		prev = redis.call('HGET', KEYS[4], 'floor_state')
	end
	local n = redis.call('ZRANGEBYLEX', KEYS[1], '(' .. key, '+', 'LIMIT', 0, 1)
	if n[1] then
		nextObs = redis.call('HGET', KEYS[2], n[1])
		nextState = state(nextObs)
	end
	local before = fall(prev, nextState)
	local px, xn = fall(prev, x), fall(x, nextState)
	if px + xn > before then
		-- The new fall ends at x (prev -> x) or at next (x -> next, x revealed a restock).
		if px == 1 then
			redis.call('HSET', KEYS[3], id, obs)
		else
			redis.call('HSET', KEYS[3], id, nextObs)
		end
	end
	redis.call('HSET', KEYS[2], key, obs)
	redis.call('ZADD', KEYS[1], 0, key)
	local over = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[9])
	if over > 0 then
		local old = redis.call('ZRANGE', KEYS[1], 0, over - 1)
		local newest = old[#old]
		redis.call('HSET', KEYS[4], 'floor', newest, 'floor_state', state(redis.call('HGET', KEYS[2], newest)))
		redis.call('HDEL', KEYS[2], unpack(old))
		redis.call('ZREMRANGEBYRANK', KEYS[1], 0, over - 1)
	end
end
if outcome ~= 'unknown' then
	for i = 1, 5 do
		redis.call('PEXPIRE', KEYS[i], ARGV[10])
	end
end
local alert = redis.call('HGET', KEYS[3], id)
if not alert then
	return {outcome, false, 0}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local claim = tonumber(redis.call('HGET', KEYS[5], id) or '0')
if claim > now then
	return {outcome, false, 1}
end
redis.call('HSET', KEYS[5], id, tostring(now + tonumber(ARGV[11])))
redis.call('PEXPIRE', KEYS[5], ARGV[10])
return {outcome, alert, 0}
`)

// publishedScript forgets a published alert and its claim. KEYS: 1 pending, 2 claims;
// ARGV[1] alert event_id.
var publishedScript = redis.NewScript(`
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
`)
