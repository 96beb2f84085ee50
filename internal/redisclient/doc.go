// Package redisclient builds the worker's go-redis client from a URL: one server (redis://,
// rediss://, unix://), Sentinel (redis+sentinel://) or Cluster (redis+cluster://), with a CA
// file for TLS; it checks such a URL without connecting, and tells an error of an unreachable
// Redis from others. The worker's stores, the shared cache and the tools use the one client.
package redisclient
