package config

import "strings"

// Redacted returns the effective configuration as `eventworker config` prints it: every setting's
// variable and value, the passwords of the URLs redacted. It is what may be shown of the
// configuration elsewhere (the debug listener's /debug/state).
func (c *Config) Redacted() map[string]string {
	out := make(map[string]string, len(settings))
	for _, s := range settings {
		out[s.env] = s.shown(c)
	}
	return out
}

// shown is the setting's value in c as it may be shown: a secret's passwords redacted.
func (s setting) shown(c *Config) string {
	v := s.get(c)
	switch {
	case v == "":
	case s.redact != nil:
		v = s.redact(v)
	case s.secret:
		v = redactURL(v)
	}
	return v
}

// redactHeaderValues shows EVENTWORKER_MAIL_HEADERS with its names and every value replaced by
// xxxxx; a value that does not parse is hidden whole.
func redactHeaderValues(v string) string {
	hs, err := ParseMailHeaders(v)
	if err != nil {
		return "xxxxx"
	}
	parts := make([]string, len(hs))
	for i, h := range hs {
		parts[i] = h.Name + "=xxxxx"
	}
	return strings.Join(parts, ";")
}
