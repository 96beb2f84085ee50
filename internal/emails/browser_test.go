package emails

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"html"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/eventworker/eventworker/internal/testenv"
)

var screenshots = flag.Bool("screenshots", false, "write a screenshot of every email, language, width and scheme under testdata/screenshots")

// The browser test renders every email in every language with text at the contract's limits (a
// right-to-left name, an unbroken 120-character shop name) and loads it in headless Chromium
// (Debian's chromium) at 600 and 375 px, in light and dark colour schemes and darkened by the
// browser itself, and checks what a
// reader would see: nothing wider than the screen, a Pay now button whose text has at least
// 4.5:1 contrast with it and that stands out from the card, and the name isolated from the
// sentence around it.

// browserView is sampleView with the text that breaks layouts.
func browserView(name string) View {
	v := sampleView(name)
	v.Shop.Name = "Acme" + strings.Repeat("x", 116)
	v.Shop.LogoURL = "" // no network: the name stands in the header
	if v.Name != "" {
		v.Name = "זוהר"
	}
	if v.Order != nil {
		o := *v.Order
		o.Items = append([]Item{
			{ProductID: "p-" + strings.Repeat("9", 60), Quantity: 1, UnitPrice: &Money{Minor: 100, Currency: "EUR"}},
			{ProductID: "p-3", Name: "Expedition Tent Pro", Quantity: 12, UnitPrice: &Money{Minor: 123456789, Currency: "CHF"}},
		}, o.Items...)
		v.Order = &o
	}
	return v
}

// checkScript measures each email's frame once the page has loaded and writes the results as
// JSON into the page, which --dump-dom prints.
const checkScript = `
function lum(c) {
  const m = c.match(/[\d.]+/g).map(Number);
  const [r, g, b] = m.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function contrast(a, b) { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); }
window.addEventListener('load', () => {
  const out = [];
  for (const f of document.querySelectorAll('iframe')) {
    const d = f.contentDocument, w = f.contentWindow;
    const r = { id: f.id, width: d.documentElement.clientWidth, scrollWidth: d.documentElement.scrollWidth,
      dark: w.matchMedia('(prefers-color-scheme: dark)').matches, text: d.body.innerText };
    const btn = d.querySelector('a.ew-button'), card = d.querySelector('.ew-card');
    if (btn) {
      const s = w.getComputedStyle(btn);
      r.buttonText = contrast(s.color, s.backgroundColor);
      r.buttonCard = contrast(s.backgroundColor, w.getComputedStyle(card).backgroundColor);
      const b = btn.getBoundingClientRect();
      r.button = { x: Math.round(b.x), y: Math.round(b.y), w: Math.round(b.width), h: Math.round(b.height) };
    }
    r.cardText = contrast(w.getComputedStyle(card).color, w.getComputedStyle(card).backgroundColor);
    out.push(r);
  }
  const pre = document.createElement('pre');
  pre.id = 'results';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
`

type frameResult struct {
	ID          string  `json:"id"`
	Width       int     `json:"width"`
	ScrollWidth int     `json:"scrollWidth"`
	Dark        bool    `json:"dark"`
	Text        string  `json:"text"`
	ButtonText  float64 `json:"buttonText"`
	ButtonCard  float64 `json:"buttonCard"`
	CardText    float64 `json:"cardText"`
	Button      *struct {
		X, Y, W, H int
	} `json:"button"`
}

func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testenv.Unavailable(t, "headless Chromium: install Debian's chromium")
	return ""
}

// runChromium runs headless Chromium on page with args, in a profile of its own.
func runChromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
		"--user-data-dir=" + t.TempDir(), "--virtual-time-budget=10000"}
	out, err := exec.CommandContext(ctx, bin, append(base, args...)...).Output()
	if err != nil {
		t.Fatalf("chromium %v: %v", args, err)
	}
	return out
}

func TestEmailsInABrowser(t *testing.T) {
	bin := chromium(t)
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	langs, err := r.Languages("acme")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var all []rendered
	for _, name := range Names {
		for _, lang := range langs {
			loc, err := r.Locale("acme", "", lang)
			if err != nil {
				t.Fatal(err)
			}
			e, err := r.Render("acme", name, loc, browserView(name))
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, rendered{name + "." + lang, e.HTML})
		}
	}
	for _, width := range []int{600, 375} {
		// forced: the reader darkens the page itself, whatever it declares, as Gmail's and
		// Outlook's apps do; Chromium's own force-dark stands in for them.
		for _, scheme := range []string{"light", "dark", "forced"} {
			t.Run(fmt.Sprintf("%dpx/%s", width, scheme), func(t *testing.T) {
				var page strings.Builder
				page.WriteString("<!DOCTYPE html><html><head><meta charset=utf-8><style>body{margin:0}iframe{display:block;border:0;height:1600px}</style></head><body>")
				for _, e := range all {
					fmt.Fprintf(&page, `<iframe id=%q style="width:%dpx" srcdoc="%s"></iframe>`, e.id, width, html.EscapeString(e.html))
				}
				fmt.Fprintf(&page, "<script>%s</script></body></html>", checkScript)
				path := filepath.Join(dir, fmt.Sprintf("page-%d-%s.html", width, scheme))
				if err := os.WriteFile(path, []byte(page.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				args := []string{"--window-size=" + fmt.Sprint(width) + ",800"}
				switch scheme {
				case "dark":
					args = append(args, "--force-dark-mode", "--blink-settings=preferredColorScheme=0")
				case "forced":
					args = append(args, "--blink-settings=forceDarkModeEnabled=true")
				}
				out := runChromium(t, bin, append(args, "--dump-dom", "file://"+path)...)
				m := regexp.MustCompile(`(?s)<pre id="results">(.*?)</pre>`).FindSubmatch(out)
				if m == nil {
					t.Fatalf("Chromium printed no results:\n%.2000s", out)
				}
				var results []frameResult
				if err := json.Unmarshal([]byte(html.UnescapeString(string(m[1]))), &results); err != nil {
					t.Fatalf("results: %v", err)
				}
				if len(results) != len(all) {
					t.Fatalf("%d results for %d emails", len(results), len(all))
				}
				for _, res := range results {
					if res.Dark != (scheme == "dark") {
						t.Errorf("%s: prefers-color-scheme dark = %v in the %s run", res.ID, res.Dark, scheme)
					}
					if res.ScrollWidth > res.Width {
						t.Errorf("%s: %d px wide on a %d px screen: something does not wrap", res.ID, res.ScrollWidth, res.Width)
					}
					if res.CardText < 4.5 {
						t.Errorf("%s: text contrast %.2f:1, want at least 4.5:1", res.ID, res.CardText)
					}
					if strings.HasPrefix(res.ID, PaymentReminder+".") {
						if res.ButtonText < 4.5 || res.ButtonCard < 1.5 {
							t.Errorf("%s: the button's text contrast %.2f:1 (want 4.5), against the card %.2f:1 (want 1.5)", res.ID, res.ButtonText, res.ButtonCard)
						}
						if scheme == "forced" {
							// Styles do not show what force-dark paints: look at the pixels.
							checkButtonPixels(t, bin, args, dir, res, htmlOf(all, res.ID))
						}
					}
					if !strings.HasPrefix(res.ID, LowStock+".") && !strings.Contains(res.Text, "\u2068זוהר\u2069") {
						t.Errorf("%s: the reader's name is not isolated in the text shown:\n%s", res.ID, res.Text)
					}
				}
				if *screenshots {
					for _, e := range all {
						one := filepath.Join(dir, e.id+".html")
						if err := os.WriteFile(one, []byte(e.html), 0o644); err != nil {
							t.Fatal(err)
						}
						shot, err := filepath.Abs(filepath.Join("testdata", "screenshots", fmt.Sprintf("%s.%dpx.%s.png", e.id, width, scheme)))
						if err != nil {
							t.Fatal(err)
						}
						runChromium(t, bin, append(args, "--window-size="+fmt.Sprint(width)+",1100", "--screenshot="+shot, "file://"+one)...)
					}
				}
			})
		}
	}
}

type rendered struct{ id, html string }

func htmlOf(all []rendered, id string) string {
	for _, e := range all {
		if e.id == id {
			return e.html
		}
	}
	return ""
}

// checkButtonPixels screenshots the email as the forced run shows it and reads the button's
// pixels: its most common colour (the background) against the brightest or darkest pixel inside
// it (the text) must reach 4.5:1, and against the card beside it 1.5:1.
func checkButtonPixels(t *testing.T, bin string, args []string, dir string, res frameResult, page string) {
	t.Helper()
	if res.Button == nil {
		t.Errorf("%s: no button found", res.ID)
		return
	}
	src := filepath.Join(dir, res.ID+".forced.html")
	shot := filepath.Join(dir, fmt.Sprintf("%s.%d.forced.png", res.ID, res.Width))
	if err := os.WriteFile(src, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	runChromium(t, bin, append(args, fmt.Sprintf("--window-size=%d,1100", res.Width), "--screenshot="+shot, "file://"+src)...)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	b := res.Button
	counts := map[color.RGBA]int{}
	var pixels []color.RGBA
	for y := b.Y + 2; y < b.Y+b.H-2; y++ {
		for x := b.X + 2; x < b.X+b.W-2; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			counts[c]++
			pixels = append(pixels, c)
		}
	}
	var bg color.RGBA
	for c, n := range counts {
		if n > counts[bg] {
			bg = c
		}
	}
	text := 1.0
	for _, c := range pixels {
		text = max(text, contrastRGB(bg, c))
	}
	card := color.RGBAModel.Convert(img.At(b.X-12, b.Y+b.H/2)).(color.RGBA)
	if text < 4.5 || contrastRGB(bg, card) < 1.5 {
		t.Errorf("%s under forced darkening: button %v, text contrast %.2f:1 (want 4.5), against the card %v %.2f:1 (want 1.5)",
			res.ID, bg, text, card, contrastRGB(bg, card))
	}
}

// contrastRGB is the WCAG contrast ratio of two colours.
func contrastRGB(a, b color.RGBA) float64 {
	lum := func(c color.RGBA) float64 {
		ch := func(v uint8) float64 {
			f := float64(v) / 255
			if f <= 0.03928 {
				return f / 12.92
			}
			return math.Pow((f+0.055)/1.055, 2.4)
		}
		return 0.2126*ch(c.R) + 0.7152*ch(c.G) + 0.0722*ch(c.B)
	}
	x, y := lum(a), lum(b)
	return (max(x, y) + 0.05) / (min(x, y) + 0.05)
}
