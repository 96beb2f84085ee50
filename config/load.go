package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// LoadOption adds a check to Load.
type LoadOption func(*loadChecks)

type loadChecks struct {
	environ []string
	also    []func(*Config) error
}

// Also makes Load run check on the configuration it read and report its problems with its own,
// all at once: for checks of what the settings name (files, URLs as their clients read them).
// check sees the configuration as far as it could be read, the defaults standing in for values
// that could not.
func Also(check func(*Config) error) LoadOption {
	return func(c *loadChecks) { c.also = append(c.also, check) }
}

// RefuseUnknown makes Load refuse every EVENTWORKER_ variable of environ (KEY=value pairs, as
// os.Environ gives them) that is no setting, naming the setting it most likely meant: a
// misspelt variable would otherwise be ignored, and the worker start on the default. The
// variables of the project's tests (EVENTWORKER_TEST_*) and of the benchmark's child process are
// not settings but known.
func RefuseUnknown(environ []string) LoadOption {
	return func(c *loadChecks) { c.environ = environ }
}

// Load reads the configuration: defaults, then environment variables (and VAR_FILE for
// secrets), then the flags already parsed into fs by RegisterFlags. It returns every problem at
// once.
func Load(getenv func(string) string, fs *flag.FlagSet, opts ...LoadOption) (*Config, error) {
	var checks loadChecks
	for _, o := range opts {
		o(&checks)
	}
	c := Default()
	errs := unknownVariables(checks.environ)
	for _, s := range settings {
		v := getenv(s.env)
		if s.secret {
			if path := getenv(s.env + "_FILE"); path != "" {
				if v != "" {
					errs = append(errs, fmt.Errorf("%s and %s_FILE are both set; set only one", s.env, s.env))
					continue
				}
				b, err := os.ReadFile(path)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s_FILE: %w", s.env, err))
					continue
				}
				v = strings.TrimSpace(string(b))
				if v == "" {
					// An empty secret (a Kubernetes Secret key with no value) must not fall back
					// to the default and point the worker at localhost.
					errs = append(errs, fmt.Errorf("%s_FILE: %s is empty: put the value in it, or unset %s_FILE to use %s", s.env, path, s.env, s.env))
					continue
				}
			}
		}
		if v == "" {
			continue
		}
		if err := s.set(c, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.env, err))
		}
	}
	if fs != nil {
		fs.Visit(func(f *flag.Flag) {
			for _, s := range settings {
				if s.flag == f.Name {
					if err := s.set(c, f.Value.String()); err != nil {
						errs = append(errs, fmt.Errorf("--%s: %w", s.flag, err))
					}
				}
			}
		})
	}
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	for _, check := range checks.also {
		if err := check(c); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("invalid configuration:\n%w", errors.Join(errs...))
	}
	return c, nil
}

// RegisterFlags adds a flag for every setting to fs; Load applies those that were set.
func RegisterFlags(fs *flag.FlagSet) {
	for _, s := range settings {
		fs.String(s.flag, "", fmt.Sprintf("%s (env %s, default %q)", s.help, s.env, s.def))
	}
}

// Print writes the effective configuration, one VAR=value a line, passwords redacted.
func (c *Config) Print(w io.Writer) error {
	for _, s := range settings {
		if _, err := fmt.Fprintf(w, "%s=%s\n", s.env, s.shown(c)); err != nil {
			return err
		}
	}
	return nil
}

// MarkdownTable writes the table of settings that the README carries.
func MarkdownTable(w io.Writer) error {
	if _, err := fmt.Fprintln(w, "| variable | flag | default | meaning |\n|---|---|---|---|"); err != nil {
		return err
	}
	for _, s := range settings {
		help := s.help
		if s.secret {
			help += "; or from a file named by " + s.env + "_FILE"
		}
		def := s.def
		if def == "" {
			def = "(empty)"
		}
		if _, err := fmt.Fprintf(w, "| `%s` | `--%s` | `%s` | %s |\n", s.env, s.flag, def, help); err != nil {
			return err
		}
	}
	return nil
}
