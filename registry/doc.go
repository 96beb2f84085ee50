// Package registry is the shop's event contract in code.
//
// It loads registry.yaml (embedded in the binary, or an external file), compiles every JSON Schema
// in it once, and then answers the questions that producers and consumers ask of the contract:
// which event types and versions exist, which consumers react to each, whether a raw message body
// satisfies the envelope and the data schema of its type and version, and what typed Go value a
// valid body decodes into.
//
// A valid body is decoded into one internal shape per event type, whatever version it came in:
// order.created version 1 carries money in major units and is upcast to the minor units of
// version 2 by the currency's ISO 4217 exponent, exactly, with no float arithmetic.
//
// Validation never stops at the first problem: a *ValidationError lists every failure with the
// JSON pointer of the value at fault, so a dead letter or a producer's error says all that is
// wrong at once.
package registry
