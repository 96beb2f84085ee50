package emails

import (
	"testing"

	"github.com/eventworker/eventworker/internal/testenv"
)

// BenchmarkLocale measures Renderer.Locale, which the notifications consumer calls once per
// email: go test ./internal/emails -run '^$' -bench Locale -benchmem
func BenchmarkLocale(b *testing.B) {
	r, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name, tz   string
		candidates []string
	}{
		{"en-utc", "", []string{"en"}},
		{"de_AT-berlin", "Europe/Berlin", []string{"de_AT", "en"}},
		{"unsupported-fallback", "", []string{"pt-BR", ""}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			start := testenv.CPUTime()
			for b.Loop() {
				if _, err := r.Locale("shop-1", c.tz, c.candidates...); err != nil {
					b.Fatal(err)
				}
			}
			testenv.ReportCPU(b, start)
		})
	}
}

// BenchmarkRender measures Locale and Render together, the whole rendering of one email, per
// email and language: go test ./internal/emails -run '^$' -bench Render -benchmem
func BenchmarkRender(b *testing.B) {
	r, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range Names {
		for _, lang := range []string{"en", "de"} {
			v := sampleView(name)
			b.Run(name+"/"+lang, func(b *testing.B) {
				b.ReportAllocs()
				start := testenv.CPUTime()
				for b.Loop() {
					loc, err := r.Locale("shop-1", "Europe/Berlin", lang)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := r.Render("shop-1", name, loc, v); err != nil {
						b.Fatal(err)
					}
				}
				testenv.ReportCPU(b, start)
			})
		}
	}
}
