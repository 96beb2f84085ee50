package emails

import (
	"strings"

	"golang.org/x/text/unicode/bidi"
)

// Text from events is shown inside sentences of the email's own language. A right-to-left name
// ("זוהר") or a bidirectional control in it (U+202E) would otherwise reorder the sentence's own
// punctuation around it ("Hello ,רהוז"). isolate wraps such text in FIRST STRONG ISOLATE ...
// POP DIRECTIONAL ISOLATE (U+2068, U+2069), which browsers and mail readers honour in HTML and
// plain text alike, as <bdi> would: inside, the text keeps its own direction, and nothing in it
// reaches out. Left-to-right text without controls is left as it is.
const (
	fsi = "\u2068"
	pdi = "\u2069"
)

// isolate returns s without explicit bidirectional controls (embeddings, overrides, isolates:
// a PDI inside would close the wrapper early and let an override reach the sentence), wrapped in
// FSI...PDI when it holds right-to-left letters.
func isolate(s string) string {
	s = stripControls(s)
	if !needsIsolation(s) {
		return s
	}
	return fsi + s + pdi
}

// stripControls removes the explicit bidirectional formatting characters U+202A to U+202E and
// U+2066 to U+2069; the implicit marks (LRM, RLM, ALM) stay, they cannot reorder more than a
// neighbour.
func stripControls(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return -1
		}
		return r
	}, s)
}

func isControl(r rune) bool {
	return r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069'
}

// isolateLines isolates each line of s on its own, for text shown with its line breaks.
func isolateLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = isolate(l)
	}
	return strings.Join(lines, "\n")
}

func needsIsolation(s string) bool {
	for _, r := range s {
		if r < 0x0590 { // below Hebrew: Latin, Greek, Cyrillic... all left to right or neutral
			continue
		}
		p, _ := bidi.LookupRune(r)
		switch p.Class() {
		case bidi.R, bidi.AL, bidi.AN:
			return true
		}
		if r == '\u200f' || r == '\u061c' { // RLM, ALM
			return true
		}
	}
	return false
}

// isolated returns a copy of v whose text from events is isolated (see isolate), for the body.
// Addresses and links are left alone: they go into href attributes as they are.
func (v View) isolated() View {
	v.Name = isolate(v.Name)
	v.Shop.Name = isolate(v.Shop.Name)
	v.Shop.LegalNotice = isolateLines(v.Shop.LegalNotice)
	v.Platform.Name = isolate(v.Platform.Name)
	if v.Order != nil {
		o := *v.Order
		o.ID, o.Reason = isolate(o.ID), isolate(o.Reason)
		o.Items = make([]Item, len(v.Order.Items))
		for i, it := range v.Order.Items {
			it.Name, it.SKU, it.ProductID = isolate(it.Name), isolate(it.SKU), isolate(it.ProductID)
			o.Items[i] = it
		}
		v.Order = &o
	}
	if v.Product != nil {
		p := *v.Product
		p.ID, p.SKU, p.Name = isolate(p.ID), isolate(p.SKU), isolate(p.Name)
		v.Product = &p
	}
	if v.Tenant != nil {
		t := *v.Tenant
		t.Plan = isolate(t.Plan)
		v.Tenant = &t
	}
	return v
}
