package emails

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestMoney(t *testing.T) {
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		locale string
		m      Money
		want   string
	}{
		{"en", Money{Minor: 123450, Currency: "EUR"}, "€1,234.50"},
		{"de", Money{Minor: 123450, Currency: "EUR"}, "1.234,50\u00a0€"},
		{"en", Money{Minor: 5, Currency: "USD"}, "$0.05"},
		{"de", Money{Minor: 5, Currency: "USD"}, "0,05\u00a0$"},
		{"en", Money{Minor: 1999, Currency: "CHF"}, "CHF\u00a019.99"},
		{"en", Money{Minor: 1234, Currency: "JPY"}, "¥1,234"},
		{"de", Money{Minor: 1234, Currency: "JPY"}, "1.234\u00a0¥"},
		{"en", Money{Minor: 1234, Currency: "BHD"}, "BHD\u00a01.234"},
		// Beyond float64's exact integers: only integer arithmetic keeps the last cent.
		{"en", Money{Minor: 9007199254740993, Currency: "EUR"}, "€90,071,992,547,409.93"},
		{"en", Money{Minor: 0, Currency: "GBP"}, "£0.00"},
		{"en", Money{Literal: "12.345", Currency: "EUR"}, "12.345\u00a0EUR"},
		{"de-AT", Money{Minor: 100, Currency: "EUR"}, "1,00\u00a0€"},
	}
	for _, tt := range tests {
		t.Run(tt.locale+"/"+tt.want, func(t *testing.T) {
			loc, err := r.Locale("", "", tt.locale)
			if err != nil {
				t.Fatal(err)
			}
			if got := loc.Money(tt.m); got != tt.want {
				t.Errorf("Money(%+v) = %q, want %q", tt.m, got, tt.want)
			}
			if got := loc.Money(&tt.m); got != tt.want {
				t.Errorf("Money(&%+v) = %q, want %q", tt.m, got, tt.want)
			}
		})
	}
}

func TestLocaleChoice(t *testing.T) {
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		candidates []string
		want       string
	}{
		{nil, "en"},
		{[]string{"de"}, "de"},
		{[]string{"de-AT"}, "de"},
		{[]string{"de_DE"}, "de"},
		{[]string{"en-GB", "de"}, "en"},
		{[]string{"fr", "de"}, "de"},          // the customer's language is unsupported: the tenant's
		{[]string{"", "de-CH"}, "de"},         // no customer locale
		{[]string{"fr", "ja"}, "en"},          // neither: English
		{[]string{"not a tag!", "de"}, "de"},  // garbage is skipped
		{[]string{"x\r\nBcc: y", "en"}, "en"}, // and so is an injection attempt
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.candidates, ","), func(t *testing.T) {
			loc, err := r.Locale("", "", tt.candidates...)
			if err != nil {
				t.Fatal(err)
			}
			if loc.Lang() != tt.want {
				t.Errorf("Locale(%q) = %s, want %s", tt.candidates, loc.Lang(), tt.want)
			}
		})
	}
}

func TestDateZone(t *testing.T) {
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC)
	tests := []struct {
		tz, lang, want string
	}{
		{"", "en", "1 March 2026, 23:30 UTC"},
		{"", "de", "1. März 2026, 23:30 UTC"},
		{"Europe/Berlin", "de", "2. März 2026, 00:30 CET"},
		{"America/New_York", "en", "1 March 2026, 18:30 EST"},
		{"Not/AZone", "en", "1 March 2026, 23:30 UTC"},
	}
	for _, tt := range tests {
		loc, err := r.Locale("", tt.tz, tt.lang)
		if err != nil {
			t.Fatal(err)
		}
		if got := loc.Date(at); got != tt.want {
			t.Errorf("Date in %q/%s = %q, want %q", tt.tz, tt.lang, got, tt.want)
		}
		if got := loc.Date(&at); got != tt.want {
			t.Errorf("Date(&t) in %q/%s = %q, want %q", tt.tz, tt.lang, got, tt.want)
		}
	}
	loc, _ := r.Locale("", "")
	if got := loc.Date((*time.Time)(nil)); got != "" {
		t.Errorf("Date(nil) = %q, want empty", got)
	}
}

// Every language must translate every message: a missing German key would silently fall back.
func TestCatalogsComplete(t *testing.T) {
	read := func(lang string) map[string]string {
		b, err := embedded.ReadFile("locales/" + lang + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		if err := yaml.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	en, de := read("en"), read("de")
	for k := range en {
		if _, ok := de[k]; !ok {
			t.Errorf("de.yaml lacks %q", k)
		}
	}
	for k := range de {
		if _, ok := en[k]; !ok {
			t.Errorf("de.yaml has %q, which en.yaml lacks", k)
		}
	}
	for _, name := range Names {
		if _, ok := en[name+".subject"]; !ok {
			t.Errorf("en.yaml lacks the subject of %s", name)
		}
	}
}

func TestHTMLEscapesEventData(t *testing.T) {
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := r.Locale("", "", "en")
	v := sampleView(PaymentReminder)
	v.Name = `<script>alert(1)</script>`
	v.Shop.Name = `Evil & <b>Co</b>`
	v.Order.ID = `"><img src=x onerror=alert(1)>`
	v.Order.PaymentURL = "javascript:alert(1)"
	v.Shop.LogoURL, v.Shop.URL = "javascript:alert(2)", "javascript:alert(3)"
	v.Shop.LegalNotice = "</p><script>alert(4)</script>"
	e, err := r.Render("", PaymentReminder, loc, v)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script>", "<b>Co</b>", "<img src=x", "javascript:"} {
		if strings.Contains(e.HTML, bad) {
			t.Errorf("HTML part contains %q unescaped", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;", "Evil &amp; &lt;b&gt;Co&lt;/b&gt;", "#ZgotmplZ"} {
		if !strings.Contains(e.HTML, want) {
			t.Errorf("HTML part lacks %q", want)
		}
	}
	// The text part is text/plain: it shows the data as it is.
	if !strings.Contains(e.Text, `Hello <script>alert(1)</script>,`) {
		t.Errorf("text part = %q", e.Text)
	}
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestOverrides(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "templates/layout.txt.tmpl", "{{define \"layout\"}}GLOBAL {{.Shop.Name}}\n{{template \"content\" .}}{{end}}")
	write(t, dir, "locales/fr.yaml", "welcome.subject: \"Bienvenue chez {{.Shop.Name}}\"\ngreeting: \"Bonjour,\"\n")
	write(t, dir, "shop-b/templates/welcome.txt.tmpl", "{{define \"content\"}}B-WELCOME {{.L.T \"greeting\" .}}{{end}}")
	write(t, dir, "shop-b/locales/en.yaml", "welcome.subject: \"Hi from {{.Shop.Name}}\"\n")
	r, err := New(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		tenant, lang               string
		wantLang, subject, textHas string
	}{
		{"shop-a", "en", "en", "Welcome to Acme Outdoor", "GLOBAL Acme Outdoor"},
		{"shop-a", "fr", "fr", "Bienvenue chez Acme Outdoor", "Bonjour,"},
		{"shop-b", "en", "en", "Hi from Acme Outdoor", "B-WELCOME Hello Jana Novák,"},
		{"shop-b", "de", "de", "Willkommen bei Acme Outdoor", "B-WELCOME Hallo Jana Novák,"},
	}
	for _, tt := range tests {
		t.Run(tt.tenant+"/"+tt.lang, func(t *testing.T) {
			loc, err := r.Locale(tt.tenant, "", tt.lang)
			if err != nil {
				t.Fatal(err)
			}
			e, err := r.Render(tt.tenant, Welcome, loc, sampleView(Welcome))
			if err != nil {
				t.Fatal(err)
			}
			if e.Lang != tt.wantLang || e.Subject != tt.subject || !strings.Contains(e.Text, tt.textHas) {
				t.Errorf("got lang %s, subject %q, text %q", e.Lang, e.Subject, e.Text)
			}
			if !strings.HasPrefix(e.Text, "GLOBAL ") {
				t.Errorf("the global layout override is not used: %q", e.Text)
			}
		})
	}
}

func TestBrokenOverridesFailAtStart(t *testing.T) {
	tests := []struct {
		name, file, content, wantErr string
	}{
		{"template syntax", "templates/welcome.html.tmpl", "{{define \"content\"}}{{.Name", "welcome.html.tmpl"},
		{"no content", "shop-x/templates/welcome.txt.tmpl", "{{define \"other\"}}{{end}}", "defines no \"content\" template"},
		{"catalog syntax", "locales/de.yaml", "greeting: [unclosed", "de.yaml"},
		{"message syntax", "shop-y/locales/en.yaml", "greeting: \"{{if}}\"", "greeting"},
		{"bad language", "locales/not_a_tag!.yaml", "greeting: x", "not a BCP 47"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, tt.file, tt.content)
			_, err := New(Config{Dir: dir})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New = %v, want an error mentioning %q", err, tt.wantErr)
			}
		})
	}
	if _, err := New(Config{Dir: filepath.Join(t.TempDir(), "missing")}); err == nil || !strings.Contains(err.Error(), "EVENTWORKER_TEMPLATE_DIR") {
		t.Errorf("missing dir: %v", err)
	}
}

func TestUnknownEmail(t *testing.T) {
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := r.Locale("", "")
	if _, err := r.Render("", "nope", loc, View{}); err == nil {
		t.Error("want an error for an unknown email")
	}
}
