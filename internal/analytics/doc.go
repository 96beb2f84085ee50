// Package analytics keeps per-tenant daily counters of the shop's events in Redis, in the
// worker's namespace (P + "eventworker:analytics:"): orders created, confirmed and cancelled,
// revenue of confirmed orders per currency in minor units, and users registered, per UTC day of
// the event's occurred_at.
//
// Each event is counted exactly once: one Lua script records the event ID and increments the
// counters together, so a redelivery, a retry after a crash between the increment and the
// acknowledgement, or a second replica finds the ID and counts nothing.
package analytics
