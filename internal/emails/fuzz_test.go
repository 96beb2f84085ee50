package emails

import (
	"strings"
	"testing"
)

// FuzzRenderEscapes puts arbitrary event text into every field an email shows. Every email
// must still render in every language, and no markup from the text may survive into the HTML
// part unescaped.
func FuzzRenderEscapes(f *testing.F) {
	for _, s := range []string{"<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "{{.Name}}", "javascript:alert(1)", "Jürgen & Söhne", "\x00\r\n", ""} {
		f.Add(s, s, s)
	}
	r, err := New(Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name, shop, text string) {
		// Markers around the text make its raw appearance in the HTML findable even when the
		// text itself ("<") is part of every tag.
		name, shop, text = "QX"+name+"XQ", "QY"+shop+"YQ", "QZ"+text+"ZQ"
		for _, email := range Names {
			v := sampleView(email)
			v.Name, v.Shop.Name = name, shop
			if v.Order != nil {
				v.Order.ID, v.Order.Reason, v.Order.PaymentURL = text, text, text
				v.Order.Items[0].Name = text
			}
			if v.Product != nil {
				v.Product.Name, v.Product.SKU = text, text
			}
			if v.Tenant != nil {
				v.Tenant.Plan = text
			}
			for _, lang := range []string{"en", "de"} {
				loc, err := r.Locale("", "", lang)
				if err != nil {
					t.Fatal(err)
				}
				e, err := r.Render("", email, loc, v)
				if err != nil {
					t.Fatalf("%s/%s: %v", email, lang, err)
				}
				for _, in := range []string{name, shop, text} {
					if strings.ContainsAny(in, "<>") && strings.Contains(e.HTML, in) {
						t.Fatalf("%s/%s: %q appears unescaped in the HTML part", email, lang, in)
					}
				}
			}
		}
	})
}
