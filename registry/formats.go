package registry

import "github.com/santhosh-tekuri/jsonschema/v6"

// formats are the JSON Schema formats the contract needs beyond the standard ones.
var formats = []*jsonschema.Format{
	{
		// event-time: RFC 3339, or the naive ISO 8601 that Python's isoformat() prints; the
		// standard date-time format rejects the latter.
		Name: "event-time",
		Validate: func(v any) error {
			s, ok := v.(string)
			if !ok {
				return nil
			}
			_, err := ParseTime(s)
			return err
		},
	},
	{
		// iso4217: a currency code that ISO 4217 defines, so that minor units are known.
		Name: "iso4217",
		Validate: func(v any) error {
			s, ok := v.(string)
			if !ok {
				return nil
			}
			_, err := CurrencyExponent(s)
			return err
		},
	},
}
