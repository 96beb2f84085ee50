package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/eventworker/eventworker/registry"
)

// example returns a valid example of the embedded registry, decoded so that a test can change it.
func example(t *testing.T, eventType string, version int) map[string]any {
	t.Helper()
	reg, err := registry.Default()
	if err != nil {
		t.Fatal(err)
	}
	v, err := reg.Lookup(eventType, version)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Examples) == 0 {
		t.Fatalf("%s v%d has no example", eventType, version)
	}
	var m map[string]any
	if err := json.Unmarshal(v.Examples[0].Event, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func jsonLine(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// validateCase is one input line and the verdict expected for it.
type validateCase struct {
	name string
	line string
	// wantValid, and then the event's type and version, or the failures' pointers.
	wantValid    bool
	wantType     string
	wantVersion  int
	wantPointers []string
	// wantText is a regexp the text verdict must match (after "line N: ").
	wantText string
}

func validateCases(t *testing.T) []validateCase {
	created := example(t, "order.created", 1)
	product := example(t, "product.updated", 1)
	cancelled := example(t, "order.cancelled", 1)

	broken := example(t, "order.created", 1)
	broken["occurred_at"] = "yesterday"
	broken["data"].(map[string]any)["currency"] = "usd"

	return []validateCase{
		{name: "envelope", line: jsonLine(t, created), wantValid: true, wantType: "order.created", wantVersion: 1,
			wantText: `^ok order\.created v1 ` + regexp.QuoteMeta(fmt.Sprint(created["event_id"]))},
		{name: "wrapper with routing key", line: jsonLine(t, map[string]any{"routing_key": "product.updated", "body": product}),
			wantValid: true, wantType: "product.updated", wantVersion: 1, wantText: `^ok product\.updated v1 `},
		{name: "wrapper without routing key", line: jsonLine(t, map[string]any{"body": cancelled}),
			wantValid: true, wantType: "order.cancelled", wantVersion: 1, wantText: `^ok order\.cancelled v1 `},
		{name: "routing key mismatch", line: jsonLine(t, map[string]any{"routing_key": "order.confirmed", "body": cancelled}),
			wantType: "order.cancelled", wantVersion: 1, wantPointers: []string{"/event_type"},
			wantText: `^invalid: /event_type: event_type "order.cancelled" differs from the routing key "order.confirmed"$`},
		{name: "several failures", line: jsonLine(t, broken), wantType: "order.created", wantVersion: 1,
			wantPointers: []string{"/data/currency", "/occurred_at"},
			wantText:     `^invalid: /data/currency: .+; /occurred_at: .+$`},
		{name: "not JSON", line: `{"event_id": oops`, wantPointers: []string{""}, wantText: `^invalid: \(body\): body is not JSON`},
		{name: "not an object", line: `[1, 2]`, wantPointers: []string{""}, wantText: `^invalid: \(body\): `},
		{name: "wrapper with a bad routing key", line: jsonLine(t, map[string]any{"routing_key": 7, "body": created}),
			wantPointers: []string{"/routing_key"}, wantText: `^invalid: /routing_key: `},
		{name: "large body", line: jsonLine(t, withPadding(created, 3<<20)), wantValid: true, wantType: "order.created", wantVersion: 1,
			wantText: `^ok order\.created v1 `},
	}
}

// withPadding adds an unknown data field of n bytes, which the contract allows.
func withPadding(ev map[string]any, n int) map[string]any {
	out := map[string]any{}
	for k, v := range ev {
		out[k] = v
	}
	data := map[string]any{}
	for k, v := range ev["data"].(map[string]any) {
		data[k] = v
	}
	data["padding"] = strings.Repeat("x", n)
	out["data"] = data
	return out
}

// validateInput joins the cases' lines with a blank line after the first (which validate
// skips, keeping the numbering) and returns the input with each case's line number.
func validateInput(cases []validateCase) (string, []int) {
	var b strings.Builder
	lines := make([]int, len(cases))
	n := 0
	for i, c := range cases {
		n++
		lines[i] = n
		b.WriteString(c.line + "\n")
		if i == 0 {
			n++
			b.WriteString("   \n")
		}
	}
	return b.String(), lines
}

func TestValidateText(t *testing.T) {
	noRegistryEnv(t)
	cases := validateCases(t)
	input, lines := validateInput(cases)
	file := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(file, []byte(input), 0o644); err != nil {
		t.Fatal(err)
	}
	sources := []struct {
		name  string
		stdin string
		args  []string
	}{
		{"stdin by default", input, []string{"registry", "validate"}},
		{"stdin as -", input, []string{"registry", "validate", "-"}},
		{"file", "", []string{"registry", "validate", file}},
	}
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			var got result
			if src.stdin != "" {
				got = runCLI(t, strings.NewReader(src.stdin), src.args...)
			} else {
				got = runCLI(t, nil, src.args...)
			}
			if got.code != 1 {
				t.Errorf("exit status %d, want 1 (some lines are invalid); stderr: %s", got.code, got.stderr)
			}
			verdicts := strings.Split(strings.TrimSuffix(got.stdout, "\n"), "\n")
			if len(verdicts) != len(cases) {
				t.Fatalf("%d verdicts for %d events:\n%s", len(verdicts), len(cases), got.stdout)
			}
			for i, c := range cases {
				prefix := fmt.Sprintf("line %d: ", lines[i])
				v, ok := strings.CutPrefix(verdicts[i], prefix)
				if !ok {
					t.Errorf("%s: verdict %q does not start with %q", c.name, verdicts[i], prefix)
					continue
				}
				if !matches(c.wantText, v) {
					t.Errorf("%s: verdict %q does not match %q", c.name, truncate(v), c.wantText)
				}
			}
			if !strings.Contains(got.stderr, fmt.Sprintf("%d events: ", len(cases))) {
				t.Errorf("stderr lacks the count: %q", got.stderr)
			}
		})
	}
}

func TestValidateJSON(t *testing.T) {
	noRegistryEnv(t)
	cases := validateCases(t)
	input, lines := validateInput(cases)
	// Flags may follow the file name.
	got := runCLI(t, strings.NewReader(input), "registry", "validate", "-", "--json")
	if got.code != 1 {
		t.Errorf("exit status %d, want 1; stderr: %s", got.code, got.stderr)
	}
	sc := bufio.NewScanner(strings.NewReader(got.stdout))
	sc.Buffer(nil, 1<<20)
	var verdicts []verdict
	for sc.Scan() {
		var v verdict
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("not a JSON verdict: %q: %v", sc.Text(), err)
		}
		verdicts = append(verdicts, v)
	}
	if len(verdicts) != len(cases) {
		t.Fatalf("%d verdicts for %d events", len(verdicts), len(cases))
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := verdicts[i]
			if v.Line != lines[i] || v.Valid != c.wantValid {
				t.Errorf("line %d valid %v, want line %d valid %v", v.Line, v.Valid, lines[i], c.wantValid)
			}
			if c.wantType != "" && (v.EventType != c.wantType || v.EventVersion != c.wantVersion) {
				t.Errorf("event %s v%d, want %s v%d", v.EventType, v.EventVersion, c.wantType, c.wantVersion)
			}
			if v.Valid && v.EventID == "" {
				t.Error("a valid verdict has no event_id")
			}
			var pointers []string
			for _, f := range v.Failures {
				pointers = append(pointers, f.Pointer)
				if f.Message == "" {
					t.Errorf("failure at %q has no message", f.Pointer)
				}
			}
			if !slices.Equal(pointers, c.wantPointers) {
				t.Errorf("failures at %q, want %q", pointers, c.wantPointers)
			}
		})
	}
}

func TestValidateExitStatus(t *testing.T) {
	noRegistryEnv(t)
	valid := jsonLine(t, example(t, "user.registered", 1))
	tests := []struct {
		name       string
		input      string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"all valid", valid + "\n\n" + valid + "\n", nil, 0, "2 events: 2 valid, 0 invalid"},
		{"empty input", "", nil, 0, "0 events"},
		{"no newline at the end", valid, nil, 0, "1 events: 1 valid"},
		{"line too long", strings.Repeat(" ", maxLineBytes+1) + "\n", nil, 1, "line 1 of standard input is longer than 16 MiB"},
		{"missing file", "", []string{filepath.Join(t.TempDir(), "nope.jsonl")}, 1, "nope.jsonl: no such file"},
		{"two files", "", []string{"a", "b"}, 2, "takes one input file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runCLI(t, strings.NewReader(tt.input), append([]string{"registry", "validate"}, tt.args...)...)
			if got.code != tt.wantCode {
				t.Errorf("exit status %d, want %d; stderr: %s", got.code, tt.wantCode, got.stderr)
			}
			if !strings.Contains(got.stderr, tt.wantStderr) {
				t.Errorf("stderr %q lacks %q", got.stderr, tt.wantStderr)
			}
		})
	}
}

func matches(pattern, s string) bool {
	return regexp.MustCompile(pattern).MatchString(s)
}

func truncate(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
