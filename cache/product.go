package cache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// RefreshProduct caches productJSON, the product's data, at P tenant:{t}:product:{p} for
// Config.TTL, on product.created and product.updated, but only when version is newer than
// the version already known for that key; when it writes, it also increments the tenant's
// product-list generation (P tenant:{t}:products:gen), so readers stop using lists cached
// before the change. It returns Written when this call wrote the product (or, on a Cluster,
// completed the interrupted refresh of this very version), Refused for an older or equal
// version, which the handler treats as done, and Duplicate when once's record shows the event
// was handled before (see Once).
//
// The record check, the version check, the write, the increment and the record are one Lua
// script, one round trip, so concurrent workers writing versions of one product end with the
// highest, and the generation grows once per version written. The known version survives the
// product key's expiry and tenant purges: see the package documentation. On a Redis Cluster
// the increment follows the script, and an increment that fails is made by the retry of the
// same event, since the event's record is written only after it.
//
// version must be at least 1, and productJSON a JSON object whose "version", when present,
// equals version (ErrInvalidProduct): readers and the guard must agree. It returns its
// errors, so the handler retries.
func (c *Cache) RefreshProduct(ctx context.Context, once Once, tenantID, productID string, version int64, productJSON []byte) (Outcome, error) {
	out, err := c.refreshProduct(ctx, once, tenantID, productID, version, productJSON)
	if err != nil {
		c.metrics.failed(OpRefreshProduct)
		return 0, fmt.Errorf("refresh product %s/%s version %d: %w", tenantID, productID, version, err)
	}
	return out, nil
}

func (c *Cache) refreshProduct(ctx context.Context, once Once, tenantID, productID string, version int64, productJSON []byte) (Outcome, error) {
	if tenantID == "" || productID == "" {
		return 0, fmt.Errorf("empty tenant or product ID: %w", ErrInvalidID)
	}
	if err := checkProduct(productJSON, version); err != nil {
		return 0, err
	}
	pk := c.productKey(tenantID, productID)
	vk := c.versionKey(pk)
	rk, err := c.recordKey(once, pk)
	if err != nil {
		return 0, err
	}
	recTTL := int64(0)
	keys := []string{pk, vk}
	if rk != "" {
		recTTL = c.records.TTLMillis()
		keys = append(keys, rk)
	}
	v := strconv.FormatInt(version, 10)
	here := "0"
	if !c.split {
		here = "1"
		keys = append(keys, c.generationKey(tenantID))
	} else if hashTag(pk) != hashTag(vk) {
		// Cluster: the script's keys must share a slot.
		return 0, fmt.Errorf("braces in the IDs keep %q and its version record in different Cluster slots: %w", pk, ErrInvalidID)
	}
	res, err := refreshScript.Run(ctx, c.rdb, keys, v, productJSON, c.ttl.Milliseconds(), c.versionTTL.Milliseconds(), recTTL, here).Int()
	if err != nil {
		return 0, err
	}
	var out Outcome
	switch res {
	case refreshRefused:
		return Refused, nil
	case refreshDuplicate:
		return Duplicate, nil
	case refreshWritten, refreshIncrOwed:
		out = Written
	default:
		return 0, fmt.Errorf("script reply %d: %w", res, ErrUnexpectedReply)
	}
	if !c.split {
		return out, nil
	}

	// Cluster: the generation is in another hash slot than the product, so the script left a
	// mark on the version record that the increment is owed; it is cleared, and the event's
	// record written, after the increment.
	if err := c.rdb.Incr(ctx, c.generationKey(tenantID)).Err(); err != nil {
		return 0, fmt.Errorf("product written, generation increment owed: %w", err)
	}
	settleKeys := []string{vk}
	if rk != "" {
		settleKeys = append(settleKeys, rk)
	}
	// A mark or record left unwritten costs one extra increment if this event is delivered
	// again: the refresh itself is complete, so the error is only counted.
	if err := settleScript.Run(ctx, c.rdb, settleKeys, v, recTTL).Err(); err != nil {
		c.metrics.failed(OpRefreshProduct)
	}
	return out, nil
}

// checkProduct checks the arguments of RefreshProduct before any round trip.
func checkProduct(productJSON []byte, version int64) error {
	if version < 1 {
		return fmt.Errorf("version %d is below 1: %w", version, ErrInvalidProduct)
	}
	if t := bytes.TrimLeft(productJSON, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return fmt.Errorf("product JSON is not a JSON object: %w", ErrInvalidProduct)
	}
	var doc struct {
		Version *json.Number `json:"version"`
	}
	if err := json.Unmarshal(productJSON, &doc); err != nil {
		return fmt.Errorf("product JSON: %w: %w", err, ErrInvalidProduct)
	}
	if doc.Version != nil && !sameVersion(*doc.Version, version) {
		return fmt.Errorf("product JSON has version %s, not %d: %w", *doc.Version, version, ErrInvalidProduct)
	}
	return nil
}

// sameVersion compares a JSON number with version; 3.0 is 3, as the contract allows.
func sameVersion(n json.Number, version int64) bool {
	if i, err := n.Int64(); err == nil {
		return i == version
	}
	f, err := n.Float64()
	return err == nil && f == float64(version)
}

// ProductGeneration returns the tenant's product-list generation, 0 when absent. Unlike
// GetJSON it returns Redis errors: a reader must not cache a list under a guessed generation.
func (c *Cache) ProductGeneration(ctx context.Context, tenantID string) (int64, error) {
	if tenantID == "" {
		c.metrics.failed(OpProductGeneration)
		return 0, fmt.Errorf("product generation: empty tenant ID: %w", ErrInvalidID)
	}
	n, err := c.rdb.Get(ctx, c.generationKey(tenantID)).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		c.metrics.failed(OpProductGeneration)
		return 0, fmt.Errorf("product generation of %s: %w", tenantID, err)
	}
	return n, nil
}
