package emails

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Locale translates and formats for one language and time zone. Templates call its methods
// through the view's L field.
type Locale struct {
	tag      language.Tag
	lang     string
	cat      *catalog
	fallback *catalog
	printer  *message.Printer
	loc      *time.Location
}

// Lang is the locale's language code, e.g. "de".
func (l *Locale) Lang() string { return l.lang }

// T renders the message key with data. A key missing from the locale's catalog comes from
// the English one; a key missing from both is an error, which fails the rendering.
func (l *Locale) T(key string, data any) (string, error) {
	t, ok := l.cat.messages[key]
	if !ok && l.fallback != nil {
		t, ok = l.fallback.messages[key]
	}
	if !ok {
		return "", fmt.Errorf("message %q is in no catalog of locale %s or en", key, l.lang)
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("message %q (%s): %w", key, l.lang, err)
	}
	return b.String(), nil
}

// Money formats m in the locale, with the currency's symbol and decimals.
func (l *Locale) Money(m any) string {
	switch v := m.(type) {
	case Money:
		return formatMoney(l.tag, l.printer, v)
	case *Money:
		if v == nil {
			return ""
		}
		return formatMoney(l.tag, l.printer, *v)
	default:
		return fmt.Sprint(m)
	}
}

// Date formats t in the locale's layout and time zone (UTC unless the tenant gives one).
func (l *Locale) Date(t any) string {
	var tm time.Time
	switch v := t.(type) {
	case time.Time:
		tm = v
	case *time.Time:
		if v == nil {
			return ""
		}
		tm = *v
	default:
		return fmt.Sprint(t)
	}
	tm = tm.In(l.loc)
	layout := l.cat.raw[keyDateTime]
	if layout == "" && l.fallback != nil {
		layout = l.fallback.raw[keyDateTime]
	}
	if layout == "" {
		layout = time.RFC1123
	}
	s := tm.Format(layout)
	if months := l.cat.months(); len(months) == 12 {
		s = strings.Replace(s, tm.Month().String(), months[tm.Month()-1], 1)
	}
	return s
}

// Zone is the name of the locale's time zone.
func (l *Locale) Zone() string { return l.loc.String() }

// zones caches the time zones loadZone loaded, by IANA name: time.LoadLocation reads and parses
// the zone's tzdata on every call, once per email. A *time.Location is immutable and safe to
// share. Only zones that loaded are kept, so the cache holds at most the tzdata's few hundred.
var zones sync.Map // name -> *time.Location

// loadZone is time.LoadLocation, remembered; false when the zone does not load.
func loadZone(name string) (*time.Location, bool) {
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location), true
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, false
	}
	zones.Store(name, l)
	return l, true
}
