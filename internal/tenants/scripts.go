package tenants

import "github.com/redis/go-redis/v9"

// saveProfileScript: KEYS[1] tenant hash; ARGV[1] stamp; ARGV[2..] field, value pairs.
// Stamps are fixed-width strings, so Lua's string comparison orders them.
var saveProfileScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'profile_at')
if cur and cur > ARGV[1] then
	return 0
end
for i = 2, #ARGV, 2 do
	redis.call('HSET', KEYS[1], ARGV[i], ARGV[i+1])
end
redis.call('HSET', KEYS[1], 'profile_at', ARGV[1])
return 1
`)

// setSuspendedScript: KEYS[1] tenant hash; ARGV[1] stamp; ARGV[2] "1" or "0".
var setSuspendedScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'suspended_at')
if cur and cur > ARGV[1] then
	return 0
end
redis.call('HSET', KEYS[1], 'suspended', ARGV[2], 'suspended_at', ARGV[1])
return 1
`)
