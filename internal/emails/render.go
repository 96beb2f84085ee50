package emails

import (
	"bytes"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"os"
	"path/filepath"
	"slices"
	"strings"
	texttemplate "text/template"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Config configures a Renderer.
type Config struct {
	// Dir overrides the embedded templates and catalogs, globally and per tenant (see the
	// package doc); empty means the embedded ones only.
	Dir string
}

// Email is one rendered email.
type Email struct {
	Name    string
	Lang    string
	Subject string
	Text    string
	HTML    string
}

// Renderer renders emails. It is safe for concurrent use; templates are parsed once per
// tenant with overrides, and once for all the others.
type Renderer struct {
	cfg  Config
	base *set
	// tenants holds the sets of the tenants with a directory of their own, all parsed by New
	// and read-only after: rendering touches no file.
	tenants map[string]*set
}

// set is the parsed templates and catalogs of one tenant (or of all without overrides).
type set struct {
	html     map[string]*htmltemplate.Template
	text     map[string]*texttemplate.Template
	catalogs map[string]*catalog
	tags     []language.Tag
	langs    []string
	matcher  language.Matcher
}

// New parses the embedded templates and every override in cfg.Dir, including each tenant's,
// so a broken override stops the worker at start with the file and line at fault.
func New(cfg Config) (*Renderer, error) {
	ls, err := baseLayers(cfg.Dir)
	if err != nil {
		return nil, err
	}
	base, err := load(ls)
	if err != nil {
		return nil, err
	}
	r := &Renderer{cfg: cfg, base: base, tenants: map[string]*set{}}
	tenants, err := tenantDirs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, t := range tenants {
		dir := filepath.Join(cfg.Dir, t)
		s, err := load(append(layers{{os.DirFS(dir), dir}}, ls...))
		if err != nil {
			errs = append(errs, fmt.Errorf("templates of tenant %s: %w", t, err))
			continue
		}
		r.tenants[t] = s
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return r, nil
}

// setFor returns the tenant's set: its own when DIR/TENANT existed at start, else the shared one.
func (r *Renderer) setFor(tenantID string) (*set, error) {
	if s, ok := r.tenants[tenantID]; ok {
		return s, nil
	}
	return r.base, nil
}

// load parses every email and catalog from ls.
func load(ls layers) (*set, error) {
	s := &set{
		html:     map[string]*htmltemplate.Template{},
		text:     map[string]*texttemplate.Template{},
		catalogs: map[string]*catalog{},
	}
	var errs []error
	layoutHTML, layoutHTMLName, err := ls.read("templates/layout.html.tmpl")
	errs = append(errs, err)
	layoutText, layoutTextName, err := ls.read("templates/layout.txt.tmpl")
	errs = append(errs, err)
	platformHTML, platformHTMLName, err := ls.read("templates/platform_layout.html.tmpl")
	errs = append(errs, err)
	platformText, platformTextName, err := ls.read("templates/platform_layout.txt.tmpl")
	errs = append(errs, err)
	// The <head> both HTML layouts share: meta tags and the dark-mode styles.
	head, headName, err := ls.read("templates/head.html.tmpl")
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTemplates, err)
	}
	for _, name := range Names {
		htmlName, html, textName, text := layoutHTMLName, layoutHTML, layoutTextName, layoutText
		if ToOwner(name) {
			htmlName, html, textName, text = platformHTMLName, platformHTML, platformTextName, platformText
		}
		body, where, err := ls.read("templates/" + name + ".html.tmpl")
		if err != nil {
			errs = append(errs, err)
		} else if t, err := parseHTML(name, htmlName, html, headName, head, where, body); err != nil {
			errs = append(errs, err)
		} else {
			s.html[name] = t
		}
		body, where, err = ls.read("templates/" + name + ".txt.tmpl")
		if err != nil {
			errs = append(errs, err)
		} else if t, err := parseText(name, textName, text, where, body); err != nil {
			errs = append(errs, err)
		} else {
			s.text[name] = t
		}
	}
	langs, err := ls.languages()
	if err != nil {
		errs = append(errs, err)
	}
	for _, lang := range langs {
		tag, err := language.Parse(lang)
		if err != nil {
			errs = append(errs, fmt.Errorf("locales/%s.yaml: %q is not a BCP 47 language tag: %w", lang, lang, err))
			continue
		}
		raw := map[string]string{}
		// Most general first, so the specific layers win.
		for i := len(ls) - 1; i >= 0; i-- {
			b, err := readOne(ls[i], "locales/"+lang+".yaml")
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if b != nil {
				errs = append(errs, parseCatalog(raw, ls[i].name+"/locales/"+lang+".yaml", b))
			}
		}
		c, err := compile(lang, raw)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.catalogs[lang] = c
		s.tags = append(s.tags, tag)
		s.langs = append(s.langs, lang)
	}
	if _, ok := s.catalogs[DefaultLanguage]; !ok {
		errs = append(errs, fmt.Errorf("locales/%s.yaml is missing: it is the fallback of every locale", DefaultLanguage))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTemplates, err)
	}
	// The default language first: the matcher falls back to its first tag.
	i := slices.Index(s.langs, DefaultLanguage)
	s.langs[0], s.langs[i] = s.langs[i], s.langs[0]
	s.tags[0], s.tags[i] = s.tags[i], s.tags[0]
	s.matcher = language.NewMatcher(s.tags)
	return s, nil
}

func readOne(l layer, name string) ([]byte, error) {
	b, err := readFile(l, name)
	if err != nil {
		return nil, fmt.Errorf("read %s/%s: %w", l.name, name, err)
	}
	return b, nil
}

func parseHTML(name, layoutName string, layout []byte, headName string, head []byte, where string, body []byte) (*htmltemplate.Template, error) {
	t, err := htmltemplate.New(layoutName).Option("missingkey=error").Parse(string(layout))
	if err != nil {
		return nil, err
	}
	if _, err := t.New(headName).Parse(string(head)); err != nil {
		return nil, err
	}
	if _, err := t.New(where).Parse(string(body)); err != nil {
		return nil, err
	}
	if t.Lookup("content") == nil {
		return nil, fmt.Errorf("%s defines no \"content\" template", where)
	}
	return t, nil
}

func parseText(name, layoutName string, layout []byte, where string, body []byte) (*texttemplate.Template, error) {
	t, err := texttemplate.New(layoutName).Option("missingkey=error").Parse(string(layout))
	if err != nil {
		return nil, err
	}
	if _, err := t.New(where).Parse(string(body)); err != nil {
		return nil, err
	}
	if t.Lookup("content") == nil {
		return nil, fmt.Errorf("%s defines no \"content\" template", where)
	}
	return t, nil
}

// Locale picks the first candidate locale the tenant's catalogs support (the recipient's,
// then the tenant's), else English, in the time zone tz (an IANA name; empty or unknown
// means UTC).
func (r *Renderer) Locale(tenantID, tz string, candidates ...string) (*Locale, error) {
	s, err := r.setFor(tenantID)
	if err != nil {
		return nil, err
	}
	return s.locale(tz, candidates...), nil
}

func (s *set) locale(tz string, candidates ...string) *Locale {
	lang := DefaultLanguage
	tag := language.English
	for _, c := range candidates {
		want, err := language.Parse(strings.ReplaceAll(strings.TrimSpace(c), "_", "-"))
		if err != nil || c == "" {
			continue
		}
		_, i, conf := s.matcher.Match(want)
		if conf >= language.High {
			lang, tag = s.langs[i], want
			break
		}
	}
	loc := time.UTC
	if tz != "" {
		if l, ok := loadZone(tz); ok {
			loc = l
		}
	}
	l := &Locale{
		tag:     tag,
		lang:    lang,
		cat:     s.catalogs[lang],
		printer: message.NewPrinter(tag),
		loc:     loc,
	}
	if lang != DefaultLanguage {
		l.fallback = s.catalogs[DefaultLanguage]
	}
	return l
}

// Render renders the email name for tenantID in loc (from Locale) with v.
func (r *Renderer) Render(tenantID, name string, loc *Locale, v View) (*Email, error) {
	s, err := r.setFor(tenantID)
	if err != nil {
		return nil, err
	}
	ht, tt := s.html[name], s.text[name]
	if ht == nil || tt == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownEmail, name)
	}
	v.L = loc
	subject, err := loc.T(name+".subject", v)
	if err != nil {
		return nil, fmt.Errorf("render %s subject: %w", name, err)
	}
	// Without explicit direction controls from event text; not isolated: an inbox shows it alone.
	subject = stripControls(subject)
	v.Subject = subject
	// The body and the preheader isolate event text (see isolate); the subject, one line of a
	// header whose controls the mailer removes, does not.
	v = v.isolated()
	if v.Preheader, err = loc.T(name+".preheader", v); err != nil {
		return nil, fmt.Errorf("render %s preheader: %w", name, err)
	}
	var text, html bytes.Buffer
	if err := tt.ExecuteTemplate(&text, "layout", v); err != nil {
		return nil, fmt.Errorf("render %s text part (%s): %w", name, loc.Lang(), err)
	}
	if err := ht.ExecuteTemplate(&html, "layout", v); err != nil {
		return nil, fmt.Errorf("render %s HTML part (%s): %w", name, loc.Lang(), err)
	}
	return &Email{Name: name, Lang: loc.Lang(), Subject: subject, Text: tidy(text.String()), HTML: html.String()}, nil
}

// Languages lists the languages the tenant's emails are available in.
func (r *Renderer) Languages(tenantID string) ([]string, error) {
	s, err := r.setFor(tenantID)
	if err != nil {
		return nil, err
	}
	out := slices.Clone(s.langs)
	slices.Sort(out)
	return out, nil
}

// tidy trims trailing spaces and runs of blank lines that optional sections leave behind.
func tidy(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := true
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if l == "" {
			if blank {
				continue
			}
			blank = true
		} else {
			blank = false
		}
		out = append(out, l)
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\n") + "\n"
}
