package emails

import (
	"math"
	"testing"
)

func TestLineTotal(t *testing.T) {
	eur := func(minor int64) *Money { return &Money{Minor: minor, Currency: "EUR"} }
	tests := []struct {
		name string
		item Item
		want *Money
	}{
		{"quantity times unit price", Item{Quantity: 3, UnitPrice: eur(1999)}, eur(5997)},
		{"no unit price", Item{Quantity: 3}, nil},
		{"a literal amount", Item{Quantity: 2, UnitPrice: &Money{Literal: "0.333", Currency: "EUR"}}, nil},
		{"zero quantity", Item{Quantity: 0, UnitPrice: eur(500)}, eur(0)},
		{"overflow", Item{Quantity: 2, UnitPrice: eur(math.MaxInt64/2 + 1)}, nil},
	}
	for _, tt := range tests {
		got := tt.item.LineTotal()
		if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
			t.Errorf("%s: LineTotal = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
