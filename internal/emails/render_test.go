package emails

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGolden renders every email in every embedded language and compares the subject, text
// and HTML parts with testdata/golden; go test ./internal/emails -run Golden -update
// rewrites them.
func TestGolden(t *testing.T) {
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	langs, err := r.Languages("any")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(langs, ",") != "de,en" {
		t.Fatalf("languages = %v, want de and en", langs)
	}
	for _, name := range Names {
		for _, lang := range langs {
			t.Run(name+"/"+lang, func(t *testing.T) {
				loc, err := r.Locale("shop-1", "", lang)
				if err != nil {
					t.Fatal(err)
				}
				e, err := r.Render("shop-1", name, loc, sampleView(name))
				if err != nil {
					t.Fatal(err)
				}
				if e.Lang != lang {
					t.Errorf("Lang = %s, want %s", e.Lang, lang)
				}
				golden(t, name+"."+lang+".subject.txt", e.Subject+"\n")
				golden(t, name+"."+lang+".txt", e.Text)
				golden(t, name+"."+lang+".html", e.HTML)
			})
		}
	}
}

func golden(t *testing.T, file, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", file)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/emails -run Golden -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (rerun with -update if the change is intended)\n--- got ---\n%s\n--- want ---\n%s", file, got, want)
	}
}
