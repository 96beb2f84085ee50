package registry

import (
	"errors"
	"net/mail"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

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
		// email: a bare RFC 5322 addr-spec without a quoted local part, whitespace or control
		// characters. The standard format admits "bob\r\nBcc: x"@example.com, which no mail
		// header may carry; the mailer refuses it too, but the contract should say so first.
		Name: "email",
		Validate: func(v any) error {
			s, ok := v.(string)
			if !ok {
				return nil
			}
			if strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '"' || r == '\\' }) {
				return errors.New("not a bare email address: quotes, backslashes, spaces and control characters are not allowed")
			}
			a, err := mail.ParseAddress(s)
			if err != nil || a.Address != s || a.Name != "" {
				return errors.New("not a bare email address (an RFC 5322 addr-spec such as name@example.com)")
			}
			return nil
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
