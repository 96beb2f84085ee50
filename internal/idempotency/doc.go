// Package idempotency records, in Redis and across replicas, which events each consumer has
// handled, so that an at-least-once delivery applies its effect once in the usual case.
//
// A record lives at P + "eventworker:idem:" + consumer + ":" + event_id, where P is the
// configurable prefix: the worker's own namespace, never under "tenant:", so no cache
// invalidation can erase it. It holds either a lease token (a replica is running the handler;
// it expires after the lease TTL, so a crashed replica does not block the event for ever) or
// "done" (the effect happened; it expires after the done TTL, the dedupe window).
//
// The flow for one delivery is: Begin; on StateDone acknowledge without running the handler;
// on StateHeld retry later; on StateAcquired run the handler, then Lease.Complete on success or
// Lease.Release on failure, so the next delivery may run it again. Every step is one Lua
// script, atomic, so two replicas never both acquire, and one round trip to Redis (EVALSHA;
// a Redis that has not cached the script yet gets a second one, EVAL, once).
//
// The guarantee is "once, unless a lease expires while its handler still runs": a lease TTL
// longer than the handler timeout keeps that case to crashes and stalls, where at-least-once
// delivery, and idempotent handlers, take over.
package idempotency
