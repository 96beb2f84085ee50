// Package inventory decides when the worker derives product.inventory_low: when a product's
// stock falls to or below its low-stock threshold, once per fall from above, however the
// events that report the stock are redelivered, reordered or shared between replicas.
//
// # Observations
//
// Every source event is an observation of one product's stock: product.created and
// product.updated carry inventory_quantity with the product's own threshold, and each item of an
// order.confirmed carries inventory_remaining, judged against the threshold of the latest product
// event seen. An observation is low when its quantity is at or below its threshold. The
// observations of a product form a timeline ordered by an order key: occurred_at in UTC
// nanoseconds, then the product version (0 for an order item), then the event_id, each part
// fixed width, so that the keys sort as strings.
//
// # Falls
//
// A fall is a not-low observation directly followed by a low one on the timeline. Before the
// first observation the stock is unknown, so a product first seen already low (created with no
// stock, say) has not fallen from above: no alert. One Lua script records an observation
// atomically: it places it between its neighbours prev and next and compares the falls among
// (prev, next) before with those among (prev, new) and (new, next) after. Inserting never
// removes a fall, and adds at most one; when it adds one, the script records a pending alert
// holding the low observation of the new fall under an event_id derived from the source event
// and the product (AlertID). Whatever the order of arrival, the alerts recorded add up to the
// falls of the final timeline, so reordering raises no false alert and hides no real one. A
// redelivered observation changes nothing, and since every change is one atomic script, replicas
// handling events of the same product at the same time cannot double an alert.
//
// The caller publishes each pending alert that Observe returns and then calls MarkPublished.
// Until then, every redelivery of the source event returns the alert again, under the same
// event_id, so an alert whose publish failed or crashed is published on the retry and
// consumers deduplicate any copy. A returned alert is claimed for a while (ClaimTTL, or until
// ReleaseClaim after a failed publish): another delivery of the same event meanwhile is told
// Claimed and retries later, so concurrent deliveries do not publish the alert twice.
//
// # Limits
//
// A timeline keeps the newest Options.MaxObservations observations; the newest trimmed one
// stays as the floor (its order key and whether it was low), standing in as the predecessor of
// the oldest kept one. An observation at or before the floor arrives too late to be placed and
// is ignored. An order item for a product with no product event yet has no threshold, name or
// SKU and is ignored too (TooLate and UnknownProduct outcomes). Every key of a product gets
// Options.TTL again on each write, so abandoned products go away.
//
// # Keys
//
// All state is in the worker's own namespace, never under "tenant:", so no cache purge touches
// it. With B = P + "eventworker:inventory:{" + len(tenant) + ":" + tenant + ":" + product + "}"
// (the tenant's length keeps tenant "a:b" with product "c" apart from tenant "a" with product
// "b:c"; the braces put a product's keys in one Redis Cluster slot, as one script needs):
//
//	B:timeline      sorted set, score 0, members the order keys (ZRANGEBYLEX order)
//	B:observations  hash, order key -> observation JSON (quantity, threshold, name, sku, at)
//	B:pending       hash, alert event_id -> the alert's low observation JSON
//	B:claims        hash, alert event_id -> end of the claim on it, Redis time in ms
//	B:product       hash: name, sku, threshold and version of the latest product event; the
//	                floor and floor_state once the timeline was trimmed
package inventory
