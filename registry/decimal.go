package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"

	"golang.org/x/text/currency"
)

// Decimal is a JSON number kept as its literal text, so that money in major units (version 1
// payloads) converts to minor units exactly, without passing through float64.
type Decimal string

// UnmarshalJSON accepts a JSON number and keeps its literal.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil || len(b) == 0 || b[0] == '"' {
		return fmt.Errorf("decimal: %s is not a JSON number", b)
	}
	*d = Decimal(b)
	return nil
}

// MarshalJSON writes the literal back as a JSON number ("0" when empty).
func (d Decimal) MarshalJSON() ([]byte, error) {
	if d == "" {
		return []byte("0"), nil
	}
	if _, ok := new(big.Rat).SetString(string(d)); !ok {
		return nil, fmt.Errorf("decimal: %q is not a number", string(d))
	}
	return []byte(d), nil
}

// Minor converts a major-unit amount to the currency's minor units (cents for USD, yen for JPY,
// fils for BHD). Digits beyond the currency's exponent, which a float-printing producer may send
// (0.30000000000000004), are rounded half away from zero.
func (d Decimal) Minor(currencyCode string) (int64, error) {
	exp, err := CurrencyExponent(currencyCode)
	if err != nil {
		return 0, err
	}
	r, ok := new(big.Rat).SetString(string(d))
	if !ok {
		return 0, fmt.Errorf("amount %q is not a number", string(d))
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil)))
	// Round half away from zero: add or subtract 1/2, then truncate towards zero.
	half := big.NewRat(1, 2)
	if r.Sign() < 0 {
		r.Sub(r, half)
	} else {
		r.Add(r, half)
	}
	q := new(big.Int).Quo(r.Num(), r.Denom())
	if !q.IsInt64() {
		return 0, fmt.Errorf("amount %s %s does not fit in 64-bit minor units", string(d), currencyCode)
	}
	return q.Int64(), nil
}

// DecimalFromMinor renders minor units as a major-unit Decimal with the currency's exponent
// (1999 USD is "19.99", 100 JPY is "100").
func DecimalFromMinor(minor int64, currencyCode string) (Decimal, error) {
	exp, err := CurrencyExponent(currencyCode)
	if err != nil {
		return "", err
	}
	r := new(big.Rat).SetFrac(big.NewInt(minor), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil))
	return Decimal(r.FloatString(exp)), nil
}

// CurrencyExponent returns the number of minor-unit digits of an ISO 4217 currency (2 for USD,
// 0 for JPY, 3 for BHD).
func CurrencyExponent(code string) (int, error) {
	u, err := currency.ParseISO(code)
	if err != nil || u.String() != code {
		return 0, fmt.Errorf("currency %q is not an ISO 4217 code", code)
	}
	scale, _ := currency.Standard.Rounding(u)
	return scale, nil
}

func itoa(i int) string { return strconv.Itoa(i) }
