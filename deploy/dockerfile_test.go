package deploy_test

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/eventworker/eventworker/config"
	"github.com/eventworker/eventworker/internal/version"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
	line int
}

// parseDockerfile splits a Dockerfile into instructions: comments and blank lines dropped,
// lines ending in a backslash joined with the next, as docker build reads them.
func parseDockerfile(t *testing.T) []instruction {
	t.Helper()
	var out []instruction
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, dockerfile)))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if s, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{cmd: strings.ToUpper(cmd), args: strings.Join(strings.Fields(args), " "), line: start})
		cur.Reset()
	}
	return out
}

// stages splits the instructions at each FROM.
func stages(ins []instruction) [][]instruction {
	var out [][]instruction
	for _, in := range ins {
		if in.cmd == "FROM" {
			out = append(out, nil)
		}
		if len(out) > 0 {
			out[len(out)-1] = append(out[len(out)-1], in)
		}
	}
	return out
}

// find returns the index of the first instruction of cmd whose arguments match re, or -1.
func find(ins []instruction, cmd, re string) int {
	r := regexp.MustCompile(re)
	for i, in := range ins {
		if in.cmd == cmd && r.MatchString(in.args) {
			return i
		}
	}
	return -1
}

// goModVersion returns go.mod's language version as major.minor (1.26).
func goModVersion(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(readFile(t, "../go.mod"))
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	return string(m[1])
}

func TestDockerfile(t *testing.T) {
	st := stages(parseDockerfile(t))
	if len(st) != 2 {
		t.Fatalf("%d stages, want 2 (build, runtime)", len(st))
	}
	build, rt := st[0], st[1]

	// The build stage: Go of go.mod's version, modules downloaded in a layer of their own
	// before the source is copied, a static, trimmed, stamped binary.
	if want := `golang:` + regexp.QuoteMeta(goModVersion(t)) + `-bookworm AS build$`; !regexp.MustCompile(want).MatchString(build[0].args) {
		t.Errorf("line %d: FROM %s, want %s", build[0].line, build[0].args, want)
	}
	mods, download := find(build, "COPY", `^go\.mod go\.sum \./?$`), find(build, "RUN", `\bgo mod download\b`)
	source, compile := find(build, "COPY", `^\. \.$`), find(build, "RUN", `\bgo build\b`)
	if mods < 0 || download < 0 || source < 0 || compile < 0 || !(mods < download && download < source && source < compile) {
		t.Errorf("the build stage must COPY go.mod go.sum, RUN go mod download, COPY . ., RUN go build, in that order (got %d, %d, %d, %d)", mods, download, source, compile)
	}
	if compile < 0 {
		t.FailNow()
	}
	run := build[compile].args
	// The variable -X sets; the reference makes this test stop compiling if it is renamed.
	_ = version.Version
	versionFlag := "-X github.com/eventworker/eventworker/internal/version.Version=${VERSION}"
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-ldflags", "-s -w", versionFlag, "./cmd/eventworker", "-o /out/eventworker"} {
		if !strings.Contains(run, want) {
			t.Errorf("line %d: the go build line lacks %q: %s", build[compile].line, want, run)
		}
	}
	if find(build[:compile], "ARG", `^VERSION\b`) < 0 {
		t.Error("the build stage does not declare ARG VERSION before go build")
	}

	// The runtime stage: distroless static, non-root, the port, the health check, the command.
	if rt[0].args != "gcr.io/distroless/static-debian12:nonroot" {
		t.Errorf("runtime FROM %s, want gcr.io/distroless/static-debian12:nonroot", rt[0].args)
	}
	if find(rt, "COPY", `^--from=build /out/eventworker /eventworker$`) < 0 {
		t.Error("the runtime stage does not COPY --from=build /out/eventworker /eventworker")
	}
	if i := find(rt, "USER", `.`); i < 0 || regexp.MustCompile(`^(0|root)(:|$)`).MatchString(rt[i].args) {
		t.Error("the runtime stage does not set a non-root USER")
	}
	_, port, _ := net.SplitHostPort(config.Default().HTTPAddr)
	if find(rt, "EXPOSE", `^`+port+`(/tcp)?$`) < 0 {
		t.Errorf("the runtime stage does not EXPOSE %s (EVENTWORKER_HTTP_ADDR's default)", port)
	}
	execForm := func(cmd, wantJSON string) {
		i := find(rt, cmd, `.`)
		if i < 0 {
			t.Errorf("no %s", cmd)
			return
		}
		args := rt[i].args
		if cmd == "HEALTHCHECK" {
			_, args, _ = strings.Cut(args, "CMD ")
		}
		var got, want []string
		if err := json.Unmarshal([]byte(args), &got); err != nil {
			t.Errorf("line %d: %s %s is not in exec form (the image has no shell): %v", rt[i].line, cmd, rt[i].args, err)
			return
		}
		_ = json.Unmarshal([]byte(wantJSON), &want)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("line %d: %s %q, want %q", rt[i].line, cmd, got, want)
		}
	}
	execForm("HEALTHCHECK", `["/eventworker", "healthcheck"]`)
	execForm("ENTRYPOINT", `["/eventworker"]`)
	execForm("CMD", `["run"]`)
}

// TestDockerfileBuildLine runs the Dockerfile's go build line here, as its RUN would (ARGs are
// environment variables of RUN), and checks the binary: static, stripped, no build paths, the
// stamped version, and a health check that works against the worker's routes.
func TestDockerfileBuildLine(t *testing.T) {
	st := stages(parseDockerfile(t))
	i := find(st[0], "RUN", `\bgo build\b`)
	if i < 0 {
		t.Fatal("no go build line in the Dockerfile")
	}
	bin := filepath.Join(t.TempDir(), "eventworker")
	line := strings.Replace(st[0][i].args, "-o /out/eventworker", "-o "+bin, 1)
	const stamped = "v0.0.0-dockerfile-test"
	cmd := exec.Command("sh", "-c", line)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "VERSION="+stamped, "TARGETOS=", "TARGETARCH=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has an ELF interpreter: it is dynamically linked (CGO_ENABLED=0 missing?)")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v", libs)
	}
	if f.Section(".symtab") != nil || f.Section(".debug_info") != nil {
		t.Error("the binary has a symbol table or DWARF: -ldflags -s -w missing")
	}
	abs, _ := filepath.Abs("..")
	if raw, _ := os.ReadFile(bin); bytes.Contains(raw, []byte(abs+string(filepath.Separator))) {
		t.Errorf("the binary contains the build directory %s: -trimpath missing", abs)
	}

	out, err := exec.Command(bin, "version").CombinedOutput()
	want := fmt.Sprintf("eventworker %s (unknown, %s)\n", stamped, runtime.Version())
	if err != nil || string(out) != want {
		t.Errorf("eventworker version: %v, printed %q, want %q", err, out, want)
	}

	// The HEALTHCHECK command of the image, against the worker's /healthz.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	hc := exec.Command(bin, "healthcheck")
	hc.Env = []string{"EVENTWORKER_HTTP_ADDR=:" + port}
	if out, err := hc.CombinedOutput(); err != nil {
		t.Errorf("the image's health check against a live /healthz: %v\n%s", err, out)
	}
	srv.Close()
	hc = exec.Command(bin, "healthcheck")
	hc.Env = []string{"EVENTWORKER_HTTP_ADDR=:" + port}
	if out, err := hc.CombinedOutput(); err == nil {
		t.Errorf("the image's health check passed with nothing listening:\n%s", out)
	}
}

// dockerignoreMatcher turns .dockerignore's patterns into a function reporting whether a path
// (slash-separated, relative to the context) is left out of the build context: a pattern
// matches the path or one of its parent directories, "**" spans directories, and the last
// matching pattern wins ("!" re-includes).
func dockerignoreMatcher(t *testing.T) func(string) bool {
	t.Helper()
	type rule struct {
		re      *regexp.Regexp
		include bool
	}
	var rules []rule
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, dockerignoreFile)))
	for sc.Scan() {
		p := strings.TrimSpace(sc.Text())
		if p == "" || strings.HasPrefix(p, "#") {
			continue
		}
		include := strings.HasPrefix(p, "!")
		p = strings.TrimPrefix(strings.TrimPrefix(p, "!"), "/")
		if strings.ContainsAny(p, `[\`) {
			t.Fatalf(".dockerignore pattern %q: this test's matcher knows *, ** and ? only", p)
		}
		var re strings.Builder
		for i := 0; i < len(p); i++ {
			switch {
			case strings.HasPrefix(p[i:], "**"):
				re.WriteString(".*")
				i++
			case p[i] == '*':
				re.WriteString("[^/]*")
			case p[i] == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(string(p[i])))
			}
		}
		rules = append(rules, rule{regexp.MustCompile("^" + re.String() + "$"), include})
	}
	return func(path string) bool {
		ignored := false
		for _, r := range rules {
			parts := strings.Split(path, "/")
			for n := 1; n <= len(parts); n++ {
				if r.re.MatchString(strings.Join(parts[:n], "/")) {
					ignored = !r.include
					break
				}
			}
		}
		return ignored
	}
}

// TestDockerignoreKeepsTheBuildInputs checks that every file the binary is built from (Go
// files and embedded files of the module's packages, go.mod, go.sum) is in the build context.
func TestDockerignoreKeepsTheBuildInputs(t *testing.T) {
	ignored := dockerignoreMatcher(t)
	for path, want := range map[string]bool{".git/HEAD": true, "deploy/README.md": true, "Dockerfile": true, "cmd/eventworker/main.go": false} {
		if ignored(path) != want {
			t.Errorf(".dockerignore leaves out %s: %v, want %v", path, !want, want)
		}
	}
	cmd := exec.Command("go", "list", "-deps", "-f",
		`{{if .Module}}{{if .Module.Main}}{{.Dir}}{{range .GoFiles}} {{.}}{{end}}{{range .EmbedFiles}} {{.}}{{end}}{{"\n"}}{{end}}{{end}}`,
		"./cmd/eventworker")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	root, _ := filepath.Abs("..")
	files := []string{"go.mod", "go.sum"}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		rel, err := filepath.Rel(root, fields[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fields[1:] {
			files = append(files, filepath.ToSlash(filepath.Join(rel, f)))
		}
	}
	if len(files) < 20 {
		t.Fatalf("go list named only %d files: %q", len(files), files)
	}
	for _, f := range files {
		if ignored(f) {
			t.Errorf(".dockerignore leaves out %s, which cmd/eventworker is built from", f)
		}
	}
}
