package config

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestReadmeTableIsCurrent keeps README.md's configuration table true: it must contain the
// table MarkdownTable prints, row for row.
func TestReadmeTableIsCurrent(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := MarkdownTable(&b); err != nil {
		t.Fatal(err)
	}
	for _, row := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if !strings.Contains(string(readme), row) {
			t.Errorf("README.md lacks or differs in this configuration row (run `go run ./cmd/eventworker config --markdown` and paste the table):\n%s", row)
		}
	}
}
