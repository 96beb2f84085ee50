package emails

import (
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"

	"github.com/eventworker/eventworker/registry"
)

// symbolAfter lists languages that write the currency after the amount ("12,50 €").
var symbolAfter = map[string]bool{
	"de": true, "fr": true, "es": true, "it": true, "pl": true, "cs": true, "sk": true,
	"sv": true, "da": true, "nb": true, "fi": true, "pt": true, "hu": true, "ro": true,
}

const nbsp = "\u00a0"

// formatMoney writes m for tag. The integer part is grouped by x/text from an int64 and the
// fraction is written from the remainder, so no amount goes through a float.
func formatMoney(tag language.Tag, p *message.Printer, m Money) string {
	if m.Literal != "" {
		return m.Literal + nbsp + m.Currency
	}
	unit, err := currency.ParseISO(m.Currency)
	if err != nil {
		return strconv.FormatInt(m.Minor, 10) + nbsp + m.Currency
	}
	exp, err := registry.CurrencyExponent(m.Currency)
	if err != nil {
		exp = 2
	}
	scale := int64(1)
	for range exp {
		scale *= 10
	}
	neg := m.Minor < 0
	minor := m.Minor
	if neg {
		minor = -minor
	}
	amount := p.Sprint(number.Decimal(minor / scale))
	if exp > 0 {
		frac := strconv.FormatInt(minor%scale, 10)
		amount += decimalSeparator(p) + strings.Repeat("0", exp-len(frac)) + frac
	}
	if neg {
		amount = "-" + amount
	}
	sym := p.Sprint(currency.Symbol(unit))
	base, _ := tag.Base()
	switch {
	case symbolAfter[base.String()]:
		return amount + nbsp + sym
	case isLetters(sym):
		return sym + nbsp + amount
	default:
		return sym + amount
	}
}

// decimalSeparator is the locale's decimal mark, read off x/text's formatting of 1.5.
func decimalSeparator(p *message.Printer) string {
	s := p.Sprint(number.Decimal(1.5))
	return strings.TrimFunc(s, unicode.IsDigit)
}

func isLetters(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return s != ""
}
