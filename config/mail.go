package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// MailHeader is one extra header field of every email; Value may hold the placeholders
// {template}, {tenant}, {event_type} and {event_id}.
type MailHeader struct {
	Name, Value string
}

var headerName = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

// MailHeaderPlaceholders are what a MailHeader's value may hold, each filled in per email.
var MailHeaderPlaceholders = []string{"{template}", "{tenant}", "{event_type}", "{event_id}"}

var placeholder = regexp.MustCompile(`\{[^}]*\}`)

// ParseMailHeaders reads EVENTWORKER_MAIL_HEADERS: "Name=value" pairs separated by ";" (so a
// value cannot hold one). Names are letters, digits and hyphens, each at most once (the mailer
// also refuses those it writes itself: see mailer.CheckHeader); values may hold only the
// placeholders of MailHeaderPlaceholders.
func ParseMailHeaders(s string) ([]MailHeader, error) {
	var out []MailHeader
	seen := map[string]bool{}
	for _, pair := range strings.Split(s, ";") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		name, value, ok := strings.Cut(pair, "=")
		name = strings.TrimSpace(name)
		if !ok || !headerName.MatchString(name) {
			return nil, fmt.Errorf("%q is not Name=value with a name of letters, digits and hyphens, e.g. X-PM-Tag=transactional", pair)
		}
		if seen[strings.ToLower(name)] {
			return nil, fmt.Errorf("header %s is set twice", name)
		}
		seen[strings.ToLower(name)] = true
		for _, p := range placeholder.FindAllString(value, -1) {
			if !slices.Contains(MailHeaderPlaceholders, p) {
				return nil, fmt.Errorf("header %s: %s is not one of the placeholders %s", name, p, strings.Join(MailHeaderPlaceholders, ", "))
			}
		}
		out = append(out, MailHeader{Name: name, Value: strings.TrimSpace(value)})
	}
	return out, nil
}

// MailDisable is the set of emails not to send: a template for every tenant ("low_stock"), or
// for one tenant ("acme/low_stock", "acme/*").
type MailDisable map[string]bool

// Disabled reports whether the tenant's email of the template is switched off.
func (d MailDisable) Disabled(tenant, template string) bool {
	return d[template] || d[tenant+"/"+template] || d[tenant+"/*"]
}

// ParseMailDisable reads EVENTWORKER_MAIL_DISABLE: comma-separated TEMPLATE, TENANT/TEMPLATE
// or TENANT/*. Template names are the emails' (order_received, ..., low_stock).
func ParseMailDisable(s string) (MailDisable, error) {
	d := MailDisable{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		tenant, template, scoped := strings.Cut(item, "/")
		if !scoped {
			template, tenant = tenant, ""
		}
		if scoped && tenant == "" || !(template == "*" && scoped) && !mailTemplates[template] {
			return nil, fmt.Errorf("%q is not TEMPLATE, TENANT/TEMPLATE or TENANT/*, with a template among %s", item, strings.Join(MailTemplateNames, ", "))
		}
		d[item] = true
	}
	return d, nil
}

// MailTemplateNames are the notifications consumer's emails, as internal/emails names them (a
// test keeps the two lists equal).
var MailTemplateNames = []string{"order_received", "payment_reminder", "order_confirmed", "order_cancelled", "welcome", "tenant_welcome", "low_stock"}

var mailTemplates = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range MailTemplateNames {
		m[n] = true
	}
	return m
}()
