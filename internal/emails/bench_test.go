package emails

import (
	"syscall"
	"testing"
	"time"
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
			start := cpuTime()
			for b.Loop() {
				if _, err := r.Locale("shop-1", c.tz, c.candidates...); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, start)
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
				start := cpuTime()
				for b.Loop() {
					loc, err := r.Locale("shop-1", "Europe/Berlin", lang)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := r.Render("shop-1", name, loc, v); err != nil {
						b.Fatal(err)
					}
				}
				reportCPU(b, start)
			})
		}
	}
}

// cpuTime is the CPU time the process has used, every thread (GC included): benchmarks report
// it per iteration as cpu-ns/op, which varies far less than ns/op when other work shares the
// machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time since start per iteration of a finished b.Loop.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}
