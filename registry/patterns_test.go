package registry

import (
	"math/rand/v2"

	"go.yaml.in/yaml/v3"
	"regexp"
	"strings"
	"testing"
)

// TestPatternMatchersAgreeWithRegexp holds every hand-written matcher to regexp's answer on
// hand-picked strings and on many random ones built from the characters that matter.
func TestPatternMatchersAgreeWithRegexp(t *testing.T) {
	picked := []string{
		"", "a", "A", "0", "_", "-a", "a-", "acme", "acme:eu", "prod-12", "a.b", "a..b", "x_y.z", "a b",
		"é", "aé", "\x00", "ab\n", "\nab", "USD", "usd", "USDX", "US", "en", "de-AT", "zh-Hant-TW",
		"toolonglang", "en-", "en--US", "en-123456789", "order.created", "Order.created", "order.", ".created",
		"order.created.x", "order_1.created_2", "1order.created", "order.1created", "o.c", "a.b_", "a_.b",
		strings.Repeat("a", 128), strings.Repeat("a", 129), "\xff", "a\xffb",
	}
	alphabet := []string{"a", "z", "A", "Z", "0", "9", "_", ".", ":", "-", " ", "é", "\n", "\xff"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		picked = append(picked, b.String())
	}
	for pattern, m := range patternMatchers {
		re := regexp.MustCompile(pattern)
		for _, s := range picked {
			if got, want := m(s), re.MatchString(s); got != want {
				t.Errorf("pattern %s on %q: matcher %v, regexp %v", pattern, s, got, want)
			}
		}
	}
}

func FuzzPatternMatchers(f *testing.F) {
	for _, s := range []string{"acme", "USD", "de-AT", "order.created", "a..b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for pattern, m := range patternMatchers {
			if got, want := m(s), regexp.MustCompile(pattern).MatchString(s); got != want {
				t.Errorf("pattern %s on %q: matcher %v, regexp %v", pattern, s, got, want)
			}
		}
	})
}

// TestEveryRegistryPatternHasAMatcher: the patterns of the embedded registry are the ones the
// matchers cover, so none of them runs through the regexp package per event.
func TestEveryRegistryPatternHasAMatcher(t *testing.T) {
	var doc any
	if err := yaml.Unmarshal(Embedded(), &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	found := 0
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if p, ok := e.(string); ok && k == "pattern" {
					found++
					if _, ok := patternMatchers[p]; !ok {
						t.Errorf("pattern %q has no hand-written matcher", p)
					}
				}
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(doc)
	if found == 0 {
		t.Error("no pattern found in registry.yaml")
	}
}
