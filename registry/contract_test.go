package registry

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// contractFile is the prose contract both sides follow; registry.yaml is its machine form.
const contractFile = "../docs/contract/EVENTS.md"

// contractTable returns the rows of the Markdown table under the section heading that starts
// with heading, each row's cells trimmed.
func contractTable(t *testing.T, text, heading string) [][]string {
	t.Helper()
	i := strings.Index(text, "\n## "+heading)
	if i < 0 {
		t.Fatalf("%s has no section %q", contractFile, heading)
	}
	var rows [][]string
	for _, line := range strings.Split(text[i+1:], "\n")[1:] {
		if strings.HasPrefix(line, "## ") {
			break
		}
		if !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "|---") {
			continue
		}
		var cells []string
		for _, c := range strings.Split(strings.Trim(line, "|"), "|") {
			cells = append(cells, strings.TrimSpace(c))
		}
		rows = append(rows, cells)
	}
	if len(rows) < 2 {
		t.Fatalf("%s: section %q has no table", contractFile, heading)
	}
	return rows[1:] // without the header
}

var codeSpan = regexp.MustCompile("`([a-z_]+\\.[a-z_]+)`")

// TestContractAndRegistryAgree: the event types and versions of the contract's Events table are
// exactly registry.yaml's, and each consumer of its "Who reacts" table reacts to exactly the
// types registry.yaml maps to it.
func TestContractAndRegistryAgree(t *testing.T) {
	b, err := os.ReadFile(contractFile)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	r := mustDefault(t)

	var inContract, inRegistry []string
	for _, row := range contractTable(t, text, "Events") {
		m := codeSpan.FindStringSubmatch(row[0])
		if m == nil || len(row) < 2 {
			t.Errorf("%s: Events row %q names no event type and version", contractFile, row)
			continue
		}
		inContract = append(inContract, m[1]+" v"+row[1])
	}
	for _, name := range r.Types() {
		typ, _ := r.Type(name)
		for _, v := range typ.Versions {
			inRegistry = append(inRegistry, name+" v"+strconv.Itoa(v.Version))
		}
	}
	slices.Sort(inContract)
	slices.Sort(inRegistry)
	for _, tv := range inContract {
		if !slices.Contains(inRegistry, tv) {
			t.Errorf("the contract has %s, registry.yaml does not", tv)
		}
	}
	for _, tv := range inRegistry {
		if !slices.Contains(inContract, tv) {
			t.Errorf("registry.yaml has %s, the contract does not", tv)
		}
	}

	reacts := map[string][]string{}
	for _, row := range contractTable(t, text, "Who reacts") {
		for _, m := range codeSpan.FindAllStringSubmatch(row[1], -1) {
			reacts[row[0]] = append(reacts[row[0]], m[1])
		}
	}
	for _, c := range r.Consumers() {
		got := slices.Compact(slices.Sorted(slices.Values(reacts[c])))
		if want := r.EventsOf(c); !slices.Equal(got, want) {
			t.Errorf("consumer %s reacts to %v in the contract, to %v in registry.yaml", c, got, want)
		}
		delete(reacts, c)
	}
	for c := range reacts {
		t.Errorf("the contract names consumer %s, registry.yaml does not", c)
	}
}
