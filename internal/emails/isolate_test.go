package emails

import (
	"strings"
	"testing"
)

func TestIsolate(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Jana Novák", "Jana Novák"},
		{"Zoë 李", "Zoë 李"},
		{"זוהר", "\u2068זוהר\u2069"},
		{"محمد", "\u2068محمد\u2069"},
		// Explicit controls go: an override could reorder the sentence, and a PDI would close
		// the isolate early and let the override after it out.
		{"Bob\u202eevil", "Bobevil"},
		{"Ann\u2067x", "Annx"},
		{"Acme\u2069\u202e", "Acme"},
		{"זוהר\u2069\u202eevil", "\u2068זוהרevil\u2069"},
		{"a\u200fb", "\u2068a\u200fb\u2069"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := isolate(tt.in); got != tt.want {
			t.Errorf("isolate(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestRightToLeftNamesAreIsolated renders emails with a right-to-left name, shop and product and
// with an override character: both parts hold each inside FSI...PDI, so the sentence around it
// keeps its order ("Hello ⁨זוהר⁩,"), while the subject carries no isolate.
func TestRightToLeftNamesAreIsolated(t *testing.T) {
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	loc, err := r.Locale("acme", "", "en")
	if err != nil {
		t.Fatal(err)
	}
	v := View{Shop: Shop{Name: "חנות\u2069\u202e", LegalNotice: "Acme GmbH \u202eHRB 12345\nשורה"}, Name: "Zoë\u202e", Order: &Order{ID: "ord-1", Total: Money{Minor: 100, Currency: "EUR"},
		Items: []Item{{ProductID: "p-1", Name: "كتاب", Quantity: 1}}}}
	e, err := r.Render("acme", OrderReceived, loc, v)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []struct{ name, body string }{{"text", e.Text}, {"HTML", e.HTML}} {
		for _, want := range []string{"Hello Zoë,", "\u2068חנות\u2069", "\u2068كتاب\u2069", "Acme GmbH HRB 12345", "\u2068שורה\u2069"} {
			if !strings.Contains(part.body, want) {
				t.Errorf("the %s part lacks %q:\n%s", part.name, want, part.body)
			}
		}
	}
	if strings.ContainsAny(e.Subject, "\u2068\u2069") {
		t.Errorf("subject %q holds an isolate", e.Subject)
	}
	if strings.ContainsAny(e.Text+e.HTML, "\u202e") {
		t.Error("an override character reached the email")
	}
}
