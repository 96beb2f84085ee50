package mailer

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// The back ends, by URL scheme.
const (
	schemeSMTP  = "smtp"
	schemeSMTPS = "smtps"
	schemeFile  = "file"
	schemeLog   = "log"
)

// The STARTTLS policies of smtp:// (the starttls parameter).
const (
	startTLSRequired      = "required"
	startTLSOpportunistic = "opportunistic"
	startTLSNone          = "none"
)

// The AUTH modes (the auth parameter); authNone is what an absent auth and no user mean.
const (
	authNone  = "none"
	authAuto  = "auto"
	authPlain = "plain"
	authLogin = "login"
)

// Default ports: submission with STARTTLS (RFC 6409) and submissions with implicit TLS (RFC 8314).
const (
	defaultPortSMTP  = 587
	defaultPortSMTPS = 465
)

// The query parameters, by name, in the order the errors list them.
const (
	paramStartTLS = "starttls"
	paramCAFile   = "ca_file"
	paramInsecure = "insecure_skip_verify"
	paramAuth     = "auth"
	paramHelo     = "helo"
)

// schemesHint ends every error about the scheme, so that the operator sees the choices.
const schemesHint = "use smtp://user:pass@host:587, smtps://user:pass@host:465, file://DIR or log://"

// endpoint is a parsed mail URL.
type endpoint struct {
	scheme string
	// host and port are the SMTP server's (smtp, smtps).
	host string
	port int
	// user and password come percent-decoded from the userinfo; hasUser tells an empty user
	// from none.
	user     string
	password string
	hasUser  bool
	// startTLS is the STARTTLS policy of smtp://; smtps:// has TLS from the first byte.
	startTLS string
	// caFile, when set, replaces the system roots for verifying the server's certificate.
	caFile string
	// insecureSkipVerify turns certificate verification off; an explicit opt-in only.
	insecureSkipVerify bool
	// auth is the AUTH mode: none, auto (PLAIN, else LOGIN), plain or login.
	auth string
	// helo is the EHLO name; empty means go-mail's default, the local host name.
	helo string
	// dir is file://'s output directory.
	dir string
}

// addr is host:port of an SMTP endpoint.
func (e *endpoint) addr() string {
	return net.JoinHostPort(e.host, strconv.Itoa(e.port))
}

// usesTLS reports whether the connection is, or may become, encrypted, so that ca_file and
// insecure_skip_verify mean something.
func (e *endpoint) usesTLS() bool {
	return e.scheme == schemeSMTPS || e.startTLS != startTLSNone
}

// urlError is a problem of the mail URL. It matches ErrInvalidURL and, when set, the cause.
type urlError struct {
	msg   string
	cause error
}

func (e *urlError) Error() string {
	if e.cause != nil {
		return e.msg + ": " + e.cause.Error()
	}
	return e.msg
}

func (e *urlError) Unwrap() []error {
	if e.cause != nil {
		return []error{ErrInvalidURL, e.cause}
	}
	return []error{ErrInvalidURL}
}

func badURL(format string, args ...any) error {
	return &urlError{msg: fmt.Sprintf(format, args...)}
}

// parseURL parses and checks a mail URL, reporting every problem at once. No error holds the
// password: url.Parse's own errors quote the whole URL, so only their cause is kept.
func parseURL(raw string) (*endpoint, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, badURL("mail URL is empty: %s", schemesHint)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, badURL("mail URL cannot be parsed: %s: %s", urlParseCause(err), schemesHint)
	}
	e := &endpoint{scheme: u.Scheme}
	var problems []error
	switch u.Scheme {
	case schemeSMTP, schemeSMTPS:
		problems = parseSMTPURL(u, e)
	case schemeFile:
		problems = parseFileURL(u, e)
	case schemeLog:
		problems = parseLogURL(u)
	case "":
		problems = append(problems, badURL("mail URL has no scheme: %s", schemesHint))
	default:
		problems = append(problems, badURL("mail URL scheme %q is not supported: use smtp://, smtps://, file://DIR or log://", u.Scheme))
	}
	if u.Fragment != "" || u.RawFragment != "" || strings.HasSuffix(raw, "#") {
		problems = append(problems, badURL("mail URL must not have a #fragment: remove it (a '#' in the password must be written %%23)"))
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return e, nil
}

// urlParseCause is what may be shown of a url.Parse error: its cause without the URL, and for
// a bad %-escape not even the escape, which may be part of the password.
func urlParseCause(err error) string {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	var eerr url.EscapeError
	if errors.As(err, &eerr) {
		return "a %-escape is invalid (write a literal '%' as %25)"
	}
	return err.Error()
}

func parseSMTPURL(u *url.URL, e *endpoint) []error {
	var problems []error
	example := "smtp://user:pass@host:587"
	e.port = defaultPortSMTP
	if e.scheme == schemeSMTPS {
		example = "smtps://user:pass@host:465"
		e.port = defaultPortSMTPS
	}
	if u.Opaque != "" {
		return []error{badURL("mail URL %s: has no host (write %s://host, with the two slashes): use %s", e.scheme, e.scheme, example)}
	}
	e.host = u.Hostname()
	if e.host == "" {
		problems = append(problems, badURL("mail URL %s:// has no host: use %s", e.scheme, example))
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			problems = append(problems, badURL("mail URL port %q is not a number from 1 to 65535", p))
		} else {
			e.port = n
		}
	}
	if u.Path != "" && u.Path != "/" {
		problems = append(problems, badURL("mail URL %s:// must not have a path (%q): remove it", e.scheme, u.Path))
	}
	if u.User != nil {
		e.user = u.User.Username()
		e.password, _ = u.User.Password()
		e.hasUser = true
		if e.user == "" {
			problems = append(problems, badURL("mail URL has a password but no user: use %s", example))
		}
	}

	known := []string{paramCAFile, paramInsecure, paramAuth, paramHelo}
	if e.scheme == schemeSMTP {
		known = append([]string{paramStartTLS}, known...)
	}
	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		problems = append(problems, badURL("mail URL query cannot be parsed: %s", urlParseCause(err)))
	}
	names := make([]string, 0, len(query))
	for name := range query {
		names = append(names, name)
	}
	slices.Sort(names) // the same URL gives the same error
	for _, name := range names {
		values := query[name]
		switch {
		case name == paramStartTLS && e.scheme == schemeSMTPS:
			problems = append(problems, badURL("mail URL parameter starttls is for smtp:// only: smtps:// uses TLS from the first byte; remove it, or use smtp:// for STARTTLS"))
			continue
		case !slices.Contains(known, name):
			problems = append(problems, badURL("mail URL parameter %q is not known: use %s", name, strings.Join(known, ", ")))
			continue
		case len(values) > 1:
			problems = append(problems, badURL("mail URL parameter %q is given %d times: give it once", name, len(values)))
			continue
		}
	}

	e.startTLS = startTLSRequired
	if e.scheme == schemeSMTPS {
		e.startTLS = startTLSNone // TLS is the transport itself, nothing to start
	}
	if v, ok := param(query, paramStartTLS); ok && e.scheme == schemeSMTP {
		switch v {
		case startTLSRequired, startTLSOpportunistic, startTLSNone:
			e.startTLS = v
		default:
			problems = append(problems, badURL("mail URL parameter starttls=%q is not supported: use starttls=required (the default), starttls=opportunistic or starttls=none", v))
		}
	}
	if v, ok := param(query, paramCAFile); ok {
		if v == "" {
			problems = append(problems, badURL("mail URL parameter ca_file is empty: give the path of a PEM file, e.g. ca_file=/etc/ssl/mail-ca.pem"))
		}
		e.caFile = v
	}
	if v, ok := param(query, paramInsecure); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			problems = append(problems, badURL("mail URL parameter insecure_skip_verify=%q is not a boolean: use true or false", v))
		}
		e.insecureSkipVerify = b
	}
	if e.scheme == schemeSMTP && e.startTLS == startTLSNone && (e.caFile != "" || e.insecureSkipVerify) {
		problems = append(problems, badURL("mail URL has starttls=none, so ca_file and insecure_skip_verify have no effect: remove them, or use starttls=required"))
	}

	e.auth = authNone
	if e.hasUser {
		e.auth = authAuto
	}
	if v, ok := param(query, paramAuth); ok {
		switch v {
		case authAuto, authPlain, authLogin:
			e.auth = v
			if !e.hasUser {
				problems = append(problems, badURL("mail URL has auth=%s but no user: use %s", v, example))
			}
		default:
			problems = append(problems, badURL("mail URL parameter auth=%q is not supported: use auth=plain, auth=login or auth=auto (the default when the URL has a user)", v))
		}
	}
	if v, ok := param(query, paramHelo); ok {
		if !validHelo(v) {
			problems = append(problems, badURL("mail URL parameter helo=%q is not a host name: use the worker host's public DNS name, e.g. helo=worker.example.com", v))
		}
		e.helo = v
	}
	return problems
}

// param returns the single value of a query parameter.
func param(query url.Values, name string) (string, bool) {
	values, ok := query[name]
	if !ok || len(values) == 0 {
		return "", false
	}
	return values[0], true
}

// validHelo accepts a host name or an address literal: printable ASCII, no space, at most 255
// bytes. It keeps CR and LF out of the EHLO line.
func validHelo(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func parseFileURL(u *url.URL, e *endpoint) []error {
	var problems []error
	switch {
	case u.Opaque != "":
		e.dir = u.Opaque // file:out
	case u.Host == "localhost":
		e.dir = u.Path // file://localhost/var/mail is RFC 8089's file:///var/mail
	default:
		e.dir = u.Host + u.Path // file://./out and file://out are relative
	}
	if e.dir == "" {
		problems = append(problems, badURL("mail URL file:// has no directory: use file:///var/mail/out (absolute) or file://./out (relative)"))
	}
	if u.User != nil {
		problems = append(problems, badURL("mail URL file:// must not have a user or password: remove them"))
	}
	if u.RawQuery != "" || u.ForceQuery {
		problems = append(problems, badURL("mail URL file:// takes no parameters: remove the ?query"))
	}
	return problems
}

func parseLogURL(u *url.URL) []error {
	if u.Opaque != "" || u.Host != "" || (u.Path != "" && u.Path != "/") || u.User != nil || u.RawQuery != "" || u.ForceQuery {
		return []error{badURL("mail URL log:// takes no host, path or parameters: use log://")}
	}
	return nil
}
