package rediskey

import "strings"

// HashTag returns the part of key Redis Cluster hashes: the content of the first {...} when
// it is not empty, else the whole key.
func HashTag(key string) string {
	open := strings.IndexByte(key, '{')
	if open < 0 {
		return key
	}
	end := strings.IndexByte(key[open+1:], '}')
	if end <= 0 {
		return key
	}
	return key[open+1 : open+1+end]
}

// Beside returns space + "{" + HashTag(near) + "}" + rest: a key in near's hash slot, provided
// space holds no brace of its own (a prefix may hold one complete hash tag, which near then
// starts with too, so the slot is the same). Two keys Beside the same near with different rest
// are different keys; rest should start with ':'.
func Beside(space, near, rest string) string {
	return space + "{" + HashTag(near) + "}" + rest
}
