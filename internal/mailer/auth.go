package mailer

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/wneessen/go-mail/smtp"
)

// errAuthMechanism reports that the server offers none of the AUTH mechanisms the URL allows.
var errAuthMechanism = errors.New("no usable AUTH mechanism")

// urlAuth is the smtp.Auth of the URL's auth parameter. It picks the mechanism from what the
// server advertises after TLS is up (auto: PLAIN, else LOGIN) and leaves the exchange to
// go-mail's PLAIN and LOGIN, which refuse to send the password over an unencrypted connection
// to anything but localhost. go-mail's own auto-discovery is not used: it leaves PLAIN and
// LOGIN out whenever it did not do the TLS handshake itself, as with implicit TLS here.
type urlAuth struct {
	mode     string // authAuto, authPlain or authLogin
	user     string
	password string
	host     string
	// started is called when the AUTH exchange begins, so that a failure after it is reported
	// as an authentication problem.
	started func()
	// inner is the mechanism of the current connection's exchange.
	inner smtp.Auth
}

var _ smtp.Auth = (*urlAuth)(nil)

// Start picks the mechanism and begins the exchange.
func (a *urlAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if a.started != nil {
		a.started()
	}
	mech, err := a.pick(server.Auth)
	if err != nil {
		return "", nil, err
	}
	switch mech {
	case "PLAIN":
		a.inner = smtp.PlainAuth("", a.user, a.password, a.host, false)
	default:
		a.inner = smtp.LoginAuth(a.user, a.password, a.host, false)
	}
	return a.inner.Start(server)
}

// Next continues the exchange of the mechanism Start picked.
func (a *urlAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if a.inner == nil {
		return nil, fmt.Errorf("%w: AUTH continued before it started", errAuthMechanism)
	}
	return a.inner.Next(fromServer, more)
}

// pick chooses PLAIN or LOGIN among the advertised mechanisms.
func (a *urlAuth) pick(offered []string) (string, error) {
	has := func(mech string) bool {
		return slices.ContainsFunc(offered, func(o string) bool { return strings.EqualFold(o, mech) })
	}
	var want []string
	switch a.mode {
	case authPlain:
		want = []string{"PLAIN"}
	case authLogin:
		want = []string{"LOGIN"}
	default:
		want = []string{"PLAIN", "LOGIN"}
	}
	for _, mech := range want {
		if has(mech) {
			return mech, nil
		}
	}
	offers := "no AUTH at all"
	if len(offered) > 0 {
		offers = "AUTH " + strings.Join(offered, " ")
	}
	return "", fmt.Errorf("%w: the URL allows AUTH %s (auth=%s) but the server offers %s: use auth=plain or auth=login if the server offers one of them (this sender speaks no other), or remove the user from EVENTWORKER_MAIL_URL if the server needs no AUTH",
		errAuthMechanism, strings.Join(want, " or "), a.mode, offers)
}
