// Package rediskey places the worker's own Redis keys beside the keys they go with: in the same
// Redis Cluster hash slot, so that one Lua script may touch both.
package rediskey
