package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Load reads the configuration: defaults, then environment variables (and VAR_FILE for
// secrets), then the flags already parsed into fs by RegisterFlags. It returns every problem at
// once.
func Load(getenv func(string) string, fs *flag.FlagSet) (*Config, error) {
	c := Default()
	var errs []error
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
		v := s.get(c)
		if s.secret {
			v = redactURL(v)
		}
		if _, err := fmt.Fprintf(w, "%s=%s\n", s.env, v); err != nil {
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
