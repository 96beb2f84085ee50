package cli

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/eventworker/eventworker/registry"
)

// update rewrites the golden usage texts: go test ./internal/cli -update.
var update = flag.Bool("update", false, "rewrite golden files")

// result is what one run of the command line gave.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the command line through Main, as the binary does, with stdin from in.
func runCLI(t *testing.T, in io.Reader, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	var code int
	if in == nil {
		code = Main(context.Background(), args, &stdout, &stderr)
	} else {
		e := &env{stdin: in, stdout: &stdout, stderr: &stderr, getenv: os.Getenv}
		code = run(context.Background(), e, args)
	}
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// noRegistryEnv makes the tests use the embedded registry whatever the caller's environment.
func noRegistryEnv(t *testing.T) { t.Setenv(registryFileEnv, "") }

func TestCommandLine(t *testing.T) {
	noRegistryEnv(t)
	versionLine := `^eventworker \S+ \(\S+, go\d[^)]*\)\n$`
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // regexp
		wantStderr string // regexp
	}{
		{"--version", []string{"--version"}, 0, versionLine, `^$`},
		{"version command", []string{"version"}, 0, versionLine, `^$`},
		{"--help", []string{"--help"}, 0, `(?ms)^Commands:\n.*^  registry +Check .*^  version +Print .*^  help +Show `, `^$`},
		{"-h", []string{"-h"}, 0, `Commands:`, `^$`},
		{"help", []string{"help"}, 0, `Commands:`, `^$`},
		{"help of a subcommand", []string{"help", "registry", "validate"}, 0, `Usage: eventworker registry validate`, `^$`},
		{"no command", nil, 2, `^$`, `no command given(?s).*Commands:`},
		{"unknown command", []string{"bogus"}, 2, `^$`, `unknown command "bogus"; valid commands: [a-z, ]*registry, version, help\n`},
		{"unknown top-level flag", []string{"--bogus"}, 2, `^$`, `flag provided but not defined: -bogus; valid flags: --help, --version; valid commands: [a-z, ]*registry`},
		{"help of an unknown command", []string{"help", "bogus"}, 2, `^$`, `unknown command "bogus"`},
		{"registry without subcommand", []string{"registry"}, 2, `^$`, `no command given; valid commands: lint, validate, docs, show`},
		{"unknown registry subcommand", []string{"registry", "nope"}, 2, `^$`, `unknown command "nope"; valid commands: lint, validate, docs, show`},
		{"unknown subcommand flag", []string{"registry", "lint", "--bogus"}, 2, `^$`, `eventworker registry lint: flag provided but not defined: -bogus; valid flags: --help, --registry\nRun 'eventworker registry lint --help'`},
		{"stray argument", []string{"registry", "lint", "extra"}, 2, `^$`, `unexpected argument "extra"`},
		{"lint the embedded registry", []string{"registry", "lint"}, 0, `^registry OK: \d+ event types, \d+ versions, \d+ consumers\n$`, `^$`},
		{"--registry before the subcommand", []string{"registry", "--registry", "", "lint"}, 0, `^registry OK`, `^$`},
		{"show all", []string{"registry", "show"}, 0, `(?m)^order\.created\s+v1, v2\s+notifications, analytics$`, `^$`},
		{"show one type", []string{"registry", "show", "order.created"}, 0, `(?m)^latest:\s+v2$`, `^$`},
		{"show an unknown type", []string{"registry", "show", "nope.nope"}, 1, `^$`, `unknown event type "nope.nope"; the registry has: order.cancelled`},
		{"show two types", []string{"registry", "show", "a", "b"}, 2, `^$`, `at most one event type`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runCLI(t, nil, tt.args...)
			if got.code != tt.wantCode {
				t.Errorf("exit status %d, want %d\nstdout: %s\nstderr: %s", got.code, tt.wantCode, got.stdout, got.stderr)
			}
			if !regexp.MustCompile(tt.wantStdout).MatchString(got.stdout) {
				t.Errorf("stdout %q does not match %q", got.stdout, tt.wantStdout)
			}
			if !regexp.MustCompile(tt.wantStderr).MatchString(got.stderr) {
				t.Errorf("stderr %q does not match %q", got.stderr, tt.wantStderr)
			}
		})
	}
}

// TestEveryCommandHelp holds every command of the tables to the contract: --help prints the
// usage to stdout, nothing to stderr, and exits 0, whatever the environment holds.
func TestEveryCommandHelp(t *testing.T) {
	var cases [][]string
	for _, c := range commands() {
		cases = append(cases, []string{c.name})
		if c.name == "registry" {
			for _, sub := range registryCommands(nil) {
				cases = append(cases, []string{c.name, sub.name})
			}
		}
	}
	for _, path := range cases {
		t.Run(strings.Join(path, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
			code := run(context.Background(), e, append(path, "--help"))
			if code != 0 || stderr.Len() > 0 || stdout.Len() == 0 {
				t.Errorf("--help: exit %d, %d bytes of usage on stdout, stderr %q", code, stdout.Len(), stderr.String())
			}
			if !strings.Contains(strings.ToLower(stdout.String()), "usage") {
				t.Errorf("--help does not show a usage:\n%s", stdout.String())
			}
		})
	}
}

// TestUsageGolden compares the usage texts of the help, version and registry commands with
// testdata/usage; after a change of a usage text (or of the command list), go test
// ./internal/cli -run Usage -update rewrites them.
func TestUsageGolden(t *testing.T) {
	noRegistryEnv(t)
	cases := [][]string{{}, {"version"}, {"help"}, {"registry"}, {"preview"}, {"stats"}, {"healthcheck"}, {"inspect"}, {"demo"}, {"bench"}}
	for _, c := range registryCommands(nil) {
		cases = append(cases, []string{"registry", c.name})
	}
	for _, path := range cases {
		name := strings.Join(append([]string{"eventworker"}, path...), "_")
		t.Run(name, func(t *testing.T) {
			got := runCLI(t, nil, append(path, "--help")...)
			if got.code != 0 || got.stderr != "" {
				t.Fatalf("--help: exit %d, stderr %q", got.code, got.stderr)
			}
			golden := filepath.Join("testdata", "usage", name+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got.stdout), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v; run go test ./internal/cli -run Usage -update", err)
			}
			if got.stdout != string(want) {
				t.Errorf("usage differs from %s; run go test ./internal/cli -run Usage -update and review the diff\ngot:\n%s", golden, got.stdout)
			}
		})
	}
}

func TestRegistryFileErrors(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken-registry.yaml")
	if err := os.WriteFile(broken, []byte("exchange: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing-registry.yaml")
	tests := []struct {
		name       string
		env        string
		args       []string
		wantStderr []string
	}{
		{"broken file by flag", "", []string{"registry", "lint", "--registry", broken},
			[]string{"registry file " + broken + " (given by --registry) is not a valid registry", "parse registry yaml"}},
		{"missing file by flag", "", []string{"registry", "validate", "--registry", missing, os.DevNull},
			[]string{"cannot read registry file " + missing + " (given by --registry): no such file"}},
		{"broken file by environment", broken, []string{"registry", "show"},
			[]string{broken + " (given by EVENTWORKER_REGISTRY_FILE)"}},
		{"flag wins over environment", missing, []string{"registry", "docs", "--check", "--registry", broken},
			[]string{broken + " (given by --registry)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(registryFileEnv, tt.env)
			got := runCLI(t, nil, tt.args...)
			if got.code != 1 {
				t.Errorf("exit status %d, want 1", got.code)
			}
			for _, want := range tt.wantStderr {
				if !strings.Contains(got.stderr, want) {
					t.Errorf("stderr %q lacks %q", got.stderr, want)
				}
			}
		})
	}
}

func TestDocsCheck(t *testing.T) {
	noRegistryEnv(t)
	dir := t.TempDir()
	md := filepath.Join(dir, "events.md")
	steps := []struct {
		name       string
		before     func(t *testing.T)
		args       []string
		wantCode   int
		wantOutput string // in stdout or stderr
	}{
		{"write", nil, []string{"registry", "docs", "--out", dir}, 0, "wrote " + md},
		{"fresh output passes", nil, []string{"registry", "docs", "--check", "--out", dir}, 0, md + " is up to date"},
		{"edited file fails", func(t *testing.T) { appendTo(t, md, "edited by hand\n") },
			[]string{"registry", "docs", "--out", dir, "--check"}, 1, md + " is out of date"},
		{"missing file fails", func(t *testing.T) { _ = os.Remove(filepath.Join(dir, "asyncapi.yaml")) },
			[]string{"registry", "docs", "--check", "--out", dir}, 1, "asyncapi.yaml is missing"},
		{"rewrite", nil, []string{"registry", "docs", "--out", dir}, 0, "wrote"},
		{"passes again", nil, []string{"registry", "docs", "--check", "--out", dir}, 0, "up to date"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.before != nil {
				s.before(t)
			}
			got := runCLI(t, nil, s.args...)
			if got.code != s.wantCode {
				t.Errorf("exit status %d, want %d; stderr: %s", got.code, s.wantCode, got.stderr)
			}
			if !strings.Contains(got.stdout+got.stderr, s.wantOutput) {
				t.Errorf("output lacks %q:\n%s%s", s.wantOutput, got.stdout, got.stderr)
			}
		})
	}
}

// TestCommittedDocs checks that docs/ at the repository root, when there is one, is what the
// registry generates.
func TestCommittedDocs(t *testing.T) {
	noRegistryEnv(t)
	dir := filepath.Join("..", "..", "docs")
	if _, err := os.Stat(filepath.Join(dir, "events.md")); err != nil {
		t.Skipf("no generated docs at %s", dir)
	}
	if got := runCLI(t, nil, "registry", "docs", "--check", "--out", dir); got.code != 0 {
		t.Errorf("docs/ is stale: %s", got.stderr)
	}
}

func appendTo(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// TestRegistryLintNamesHandlerMismatches: a registry that maps an event type to a consumer whose
// built-in handler does not handle it, or leaves out one it handles, fails lint, naming each pair.
func TestRegistryLintNamesHandlerMismatches(t *testing.T) {
	noRegistryEnv(t)
	text := string(registry.Embedded())
	tests := []struct {
		name, from, to, want string
	}{
		{"a type mapped to a consumer that does not handle it", "    consumers: [cache]\n", "    consumers: [cache, analytics]\n",
			"registry.yaml maps user.updated to consumer analytics, whose handler does not handle it"},
		{"a type a handler handles left unmapped", "    consumers: [tenants]\n", "    consumers: [cache]\n",
			"the handler of consumer tenants handles tenant.reactivated, which registry.yaml does not map to it"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if strings.Count(text, tc.from) != 1 {
				t.Fatalf("the embedded registry has %d lines %q, want 1", strings.Count(text, tc.from), tc.from)
			}
			file := filepath.Join(t.TempDir(), "registry.yaml")
			if err := os.WriteFile(file, []byte(strings.Replace(text, tc.from, tc.to, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			got := runCLI(t, nil, "registry", "lint", "--registry", file)
			if got.code != 1 || !strings.Contains(got.stdout, tc.want) {
				t.Errorf("exit %d, stdout %q; want 1 and %q", got.code, got.stdout, tc.want)
			}
		})
	}
}
