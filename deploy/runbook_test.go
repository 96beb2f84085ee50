package deploy_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// repoBlob is where GitHub shows the files of the repository's main branch; the module path
// in go.mod names the repository.
const repoBlob = "https://github.com/eventworker/eventworker/blob/main/"

// runbookURL is the page every alert's runbook_url points into.
const runbookURL = repoBlob + "docs/runbook.md"

// githubAnchor is the anchor GitHub gives a Markdown heading: lower case, punctuation dropped
// (letters, digits, spaces, hyphens and underscores kept), each space a hyphen.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteRune('-')
		}
	}
	return b.String()
}

func TestGitHubAnchor(t *testing.T) {
	tests := []struct{ heading, want string }{
		{"EventworkerDown", "eventworkerdown"},
		{"Scraping in Kubernetes", "scraping-in-kubernetes"},
		{"Recipe: add an event type", "recipe-add-an-event-type"},
		{"Health and metrics", "health-and-metrics"},
		{"Why a `subscriber` of its own?", "why-a-subscriber-of-its-own"},
		{"Queues and the pipeline", "queues-and-the-pipeline"},
	}
	for _, tt := range tests {
		if got := githubAnchor(tt.heading); got != tt.want {
			t.Errorf("githubAnchor(%q) = %q, want %q", tt.heading, got, tt.want)
		}
	}
}

var headingRE = regexp.MustCompile(`^#{1,6}\s+(.+?)\s*#*\s*$`)

// markdownAnchors returns the anchors of every heading of a Markdown file, outside code blocks,
// with GitHub's -1, -2 suffixes for repeated ones.
func markdownAnchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	anchors := map[string]bool{}
	seen := map[string]int{}
	inCode := false
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, path)))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inCode = !inCode
			continue
		}
		m := headingRE.FindStringSubmatch(line)
		if inCode || m == nil {
			continue
		}
		a := githubAnchor(m[1])
		if n := seen[a]; n > 0 {
			anchors[a+"-"+string(rune('0'+n))] = true
		} else {
			anchors[a] = true
		}
		seen[a]++
	}
	return anchors
}

// TestRunbookLinks checks that every alert's runbook_url is a link into this repository whose
// file exists and whose anchor is a heading of that file, and that every alert section of the
// runbook belongs to an alert.
func TestRunbookLinks(t *testing.T) {
	if mod := string(readFile(t, "../go.mod")); !strings.Contains(mod, "module "+strings.TrimSuffix(strings.TrimPrefix(repoBlob, "https://"), "/blob/main/")+"\n") {
		t.Fatalf("go.mod does not name the repository of %s", repoBlob)
	}
	var alerts []string
	for _, r := range alertRules(t) {
		alerts = append(alerts, r.Alert)
		where := alertsFile + ": " + r.Alert
		link := r.Annotations["runbook_url"]
		rest, ok := strings.CutPrefix(link, repoBlob)
		if !ok {
			t.Errorf("%s: runbook_url %q is not a link into %s", where, link, repoBlob)
			continue
		}
		file, anchor, ok := strings.Cut(rest, "#")
		if !ok || anchor == "" {
			t.Errorf("%s: runbook_url %q has no anchor", where, link)
			continue
		}
		path := filepath.Join("..", filepath.FromSlash(file))
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s: runbook_url names %s, which is not in the repository: %v", where, file, err)
			continue
		}
		if !markdownAnchors(t, path)[anchor] {
			t.Errorf("%s: runbook_url's anchor #%s is no heading of %s", where, anchor, file)
		}
	}
	// Every alert section of the runbook (## Eventworker...) is an alert of the rules.
	for _, line := range strings.Split(string(readFile(t, "../docs/runbook.md")), "\n") {
		if name, ok := strings.CutPrefix(line, "## "); ok && strings.HasPrefix(name, "Eventworker") && !slices.Contains(alerts, name) {
			t.Errorf("docs/runbook.md has a section %q, but %s has no such alert", name, alertsFile)
		}
	}
}
