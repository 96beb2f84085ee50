package emails

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
)

//go:embed templates/*.tmpl locales/*.yaml
var embedded embed.FS

// layer is one place templates and catalogs come from; name says where, for errors.
type layer struct {
	fsys fs.FS
	name string
}

// layers are a tenant's layers, most specific first.
type layers []layer

// read returns the file from the first layer that has it, and where it came from.
func (ls layers) read(name string) ([]byte, string, error) {
	for _, l := range ls {
		b, err := fs.ReadFile(l.fsys, name)
		if err == nil {
			return b, path.Join(l.name, name), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, "", fmt.Errorf("read %s: %w", path.Join(l.name, name), err)
		}
	}
	return nil, "", fmt.Errorf("%s: %w", name, fs.ErrNotExist)
}

// languages lists the locales/*.yaml names found in any layer.
func (ls layers) languages() ([]string, error) {
	seen := map[string]bool{}
	for _, l := range ls {
		matches, err := fs.Glob(l.fsys, "locales/*.yaml")
		if err != nil {
			return nil, err
		}
		for _, m := range matches {
			seen[strings.TrimSuffix(path.Base(m), ".yaml")] = true
		}
	}
	out := make([]string, 0, len(seen))
	for l := range seen {
		out = append(out, l)
	}
	sort.Strings(out)
	return out, nil
}

// baseLayers is the override directory (when set) over the embedded files.
func baseLayers(dir string) (layers, error) {
	emb := layer{embedded, "(embedded)"}
	if dir == "" {
		return layers{emb}, nil
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("template directory (EVENTWORKER_TEMPLATE_DIR): %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("template directory (EVENTWORKER_TEMPLATE_DIR) %s is not a directory", dir)
	}
	return layers{{os.DirFS(dir), dir}, emb}, nil
}

// tenantDirs lists the subdirectories of dir other than locales and templates: one per tenant with
// overrides.
func tenantDirs(dir string) ([]string, error) {
	if dir == "" {
		return nil, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("template directory (EVENTWORKER_TEMPLATE_DIR): %w", err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != "locales" && e.Name() != "templates" {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// readFile returns the file, or nil without an error when the layer does not have it.
func readFile(l layer, name string) ([]byte, error) {
	b, err := fs.ReadFile(l.fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}
