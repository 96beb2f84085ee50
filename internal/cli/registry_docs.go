package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/eventworker/eventworker/registry"
	"github.com/eventworker/eventworker/registry/docs"
)

// docFiles are the documents that "registry docs" writes, by file name.
var docFiles = []struct {
	name     string
	generate func(*registry.Registry) ([]byte, error)
}{
	{"events.md", func(r *registry.Registry) ([]byte, error) { return docs.Markdown(r), nil }},
	{"asyncapi.yaml", docs.AsyncAPI},
}

func runRegistryDocs(_ context.Context, e *env, path string, args []string, file *registryFile) int {
	f := newFlags(path, "Usage: "+path+" [--registry FILE] [--out DIR] [--check]\n\n"+
		"Writes the registry's documentation: DIR/events.md, a Markdown catalogue of the transport,\n"+
		"the envelope, the consumers and every event type and version; and DIR/asyncapi.yaml, the\n"+
		"same as an AsyncAPI 3.0.0 document.\n\n"+
		"With --check, writes nothing and exits 1 when either file is missing or differs from what\n"+
		"the registry generates (for CI).")
	file.register(f)
	out := f.String("out", "docs", "write the documents to directory `DIR`")
	check := f.Bool("check", false, "compare the documents in --out with the registry instead of writing them")
	if status, ok := f.parseFlagsOnly(e, args); !ok {
		return status
	}
	reg, err := file.load()
	if err != nil {
		return e.fail(path, err)
	}
	if !*check {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return e.fail(path, fmt.Errorf("create the output directory: %w", err))
		}
	}
	stale := 0
	for _, d := range docFiles {
		want, err := d.generate(reg)
		if err != nil {
			return e.fail(path, fmt.Errorf("generate %s: %w", d.name, err))
		}
		target := filepath.Join(*out, d.name)
		if !*check {
			if err := os.WriteFile(target, want, 0o644); err != nil {
				return e.fail(path, fmt.Errorf("write %s: %w", d.name, err))
			}
			fmt.Fprintf(e.stdout, "wrote %s\n", target)
			continue
		}
		got, err := os.ReadFile(target)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			fmt.Fprintf(e.stderr, "%s is missing\n", target)
			stale++
		case err != nil:
			return e.fail(path, fmt.Errorf("read %s: %w", d.name, err))
		case !bytes.Equal(got, want):
			fmt.Fprintf(e.stderr, "%s is out of date with %s\n", target, file.describe())
			stale++
		default:
			fmt.Fprintf(e.stdout, "%s is up to date\n", target)
		}
	}
	if stale > 0 {
		regen := "eventworker registry docs --out " + *out
		if file.path != "" {
			regen += " --registry " + file.path
		}
		return e.fail(path, fmt.Errorf("%d document(s) out of date; regenerate them with '%s' and commit the result", stale, regen))
	}
	return exitOK
}
