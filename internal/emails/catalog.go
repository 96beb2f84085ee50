package emails

import (
	"fmt"
	"strings"
	"text/template"

	"go.yaml.in/yaml/v3"
)

// Catalog keys the formatting reads; every other key is a message.
const (
	keyDateTime = "format.datetime"
	keyMonths   = "format.months"
)

// catalog is one language's messages, each parsed once.
type catalog struct {
	raw      map[string]string
	messages map[string]*template.Template
}

// parseCatalog reads a YAML map of key to message into dst, over what dst already has.
func parseCatalog(dst map[string]string, name string, data []byte) error {
	var m map[string]string
	if err := yaml.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("%s: not a YAML map of message keys to strings: %w", name, err)
	}
	for k, v := range m {
		dst[k] = v
	}
	return nil
}

// compile parses every message of raw as a text/template.
func compile(lang string, raw map[string]string) (*catalog, error) {
	c := &catalog{raw: raw, messages: make(map[string]*template.Template, len(raw))}
	var errs []string
	for k, v := range raw {
		if strings.HasPrefix(k, "format.") {
			continue
		}
		t, err := template.New(k).Option("missingkey=error").Parse(v)
		if err != nil {
			errs = append(errs, fmt.Sprintf("message %q: %v", k, err))
			continue
		}
		c.messages[k] = t
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("locale %s: %s", lang, strings.Join(errs, "; "))
	}
	return c, nil
}

// months returns the catalog's month names, or nil to keep Go's English ones.
func (c *catalog) months() []string {
	s := strings.TrimSpace(c.raw[keyMonths])
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
