package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
)

// decodeFunc turns the raw data of one (type, version) into its internal shape.
type decodeFunc func(data []byte) (Payload, error)

type typeVersion struct {
	Type    string
	Version int
}

// decoders is the Go side of the registry: every (type, version) in registry.yaml needs an entry
// here, which `eventworker registry lint` checks.
var decoders = map[typeVersion]decodeFunc{
	{"order.created", 1}: func(b []byte) (Payload, error) {
		v1, err := decodeAs[orderCreatedV1](b)
		if err != nil {
			return nil, err
		}
		return v1.upcast()
	},
	{"order.created", 2}:         decodeInto[OrderCreated],
	{"order.pending_payment", 1}: decodeInto[OrderPendingPayment],
	{"order.confirmed", 1}:       decodeInto[OrderConfirmed],
	{"order.cancelled", 1}:       decodeInto[OrderCancelled],
	{"product.created", 1}: func(b []byte) (Payload, error) {
		p, err := decodeAs[ProductCreated](b)
		if err != nil {
			return nil, err
		}
		if p.Version == 0 {
			p.Version = 1
		}
		return p, nil
	},
	{"product.updated", 1}:       decodeInto[ProductUpdated],
	{"product.inventory_low", 1}: decodeInto[ProductInventoryLow],
	{"user.registered", 1}:       decodeInto[UserRegistered],
	{"user.updated", 1}:          decodeInto[UserUpdated],
	{"tenant.provisioned", 1}:    decodeInto[TenantProvisioned],
	{"tenant.suspended", 1}:      decodeInto[TenantSuspended],
	{"tenant.reactivated", 1}:    decodeInto[TenantReactivated],
}

// HasDecoder reports whether the Go side can decode (eventType, version) into a typed payload.
func HasDecoder(eventType string, version int) bool {
	_, ok := decoders[typeVersion{eventType, version}]
	return ok
}

// decodeInto decodes into *T; payloads are handed to handlers as pointers.
func decodeInto[T any, PT interface {
	*T
	Payload
}](b []byte) (Payload, error) {
	v, err := decodeAs[T](b)
	if err != nil {
		return nil, err
	}
	return PT(v), nil
}

func decodeAs[T any](b []byte) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(b, v); err == nil {
		return v, nil
	}
	// JSON Schema counts 42.0 and 4.2e1 as integers, encoding/json does not: rewrite integral
	// numbers to their canonical form and try once more. Only such rare bodies pay for it.
	canon, err := canonicalIntegers(b)
	if err != nil {
		return nil, err
	}
	v = new(T)
	if err := json.Unmarshal(canon, v); err != nil {
		return nil, fmt.Errorf("decode data: %w", err)
	}
	return v, nil
}

func canonicalIntegers(b []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode data: %w", err)
	}
	return json.Marshal(canonicalize(v))
}

func canonicalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = canonicalize(e)
		}
	case []any:
		for i, e := range t {
			t[i] = canonicalize(e)
		}
	case json.Number:
		if r, ok := new(big.Rat).SetString(string(t)); ok && r.IsInt() {
			return json.Number(r.Num().String())
		}
	}
	return v
}
