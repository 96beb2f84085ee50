package config

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
	if s.secret && v != "" {
		if s.redact != nil {
			return s.redact(v)
		}
		v = redactURL(v)
	}
	return v
}
