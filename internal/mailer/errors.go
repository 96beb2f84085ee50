package mailer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/wneessen/go-mail/smtp"
)

// authFailedHint is the start of every error about rejected credentials; the operator, not a
// retry, fixes it, and the email is not at fault, so the error is ErrLoginRefused (and
// ErrUnavailable): the emails wait for the fix.
const authFailedHint = "authentication failed: check the user and password in EVENTWORKER_MAIL_URL"

// Replies about authentication (RFC 4954). They are 5xx, but about the worker's configuration,
// not the email: an operator fixes them and the same email then goes out, so they are
// ErrLoginRefused, not ErrRejected.
const (
	// codeServiceUnavailable is 421 "Service not available, closing transmission channel": the
	// server, not the email, is the problem (RFC 5321 4.2.3).
	codeServiceUnavailable = 421

	codeAuthRequired = 530 // "Authentication required", e.g. to MAIL FROM
	codeAuthTooWeak  = 534 // "Authentication mechanism is too weak"
	codeAuthFailed   = 535 // "Authentication credentials invalid"
	codeAuthNeedsTLS = 538 // "Encryption required for requested authentication mechanism"
)

// mailError is a classified error: its own text, matching every error in errs (the sentinel of
// its class, if any, and the cause from go-mail, net or crypto/tls).
type mailError struct {
	msg  string
	errs []error
}

func (e *mailError) Error() string   { return e.msg }
func (e *mailError) Unwrap() []error { return e.errs }

func newError(errs []error, format string, args ...any) error {
	return &mailError{msg: fmt.Sprintf(format, args...), errs: errs}
}

// classifySend classifies an error of transaction, one email on an open connection. A 5xx reply
// means the server refused this email or one of its recipients, so the same email will be
// refused again: permanent, ErrRejected; except the authentication replies above. A 4xx reply
// and anything that is not a reply (a broken connection) is transient.
func classifySend(err error, addr string) error {
	var se *stepError
	if !errors.As(err, &se) {
		return newError([]error{err}, "sending email via %s failed: %v", addr, err)
	}
	reply := unquoteReplies(se.err.Error())
	code := se.code()
	switch {
	case se.step == stepAddresses:
		return newError([]error{ErrInvalidMessage, err}, "email not sent: %s: %v", se.step, se.err)
	case code == codeAuthRequired && strings.Contains(strings.ToUpper(reply), "STARTTLS"):
		return newError([]error{ErrLoginRefused, ErrUnavailable, err}, "mail server %s requires STARTTLS first: set starttls=required in EVENTWORKER_MAIL_URL and restart the worker: %s", addr, reply)
	case code == codeAuthRequired:
		return newError([]error{ErrLoginRefused, ErrUnavailable, err}, "mail server %s requires authentication: set the user and password in EVENTWORKER_MAIL_URL (smtp://user:pass@host) and restart the worker: %s", addr, reply)
	case code == codeAuthTooWeak || code == codeAuthNeedsTLS || code == codeAuthFailed:
		return newError([]error{ErrLoginRefused, ErrUnavailable, err}, "mail server %s refused the sender's authentication: %s: check the user, password, auth= and starttls= in EVENTWORKER_MAIL_URL and restart the worker", addr, reply)
	case code == codeServiceUnavailable:
		return newError([]error{ErrUnavailable, err}, "mail server %s is not available (retry later): %s", addr, reply)
	case code >= 500:
		return newError([]error{ErrRejected, err}, "%s: %s", ErrRejected.Error(), reply)
	case code >= 400:
		return newError([]error{err}, "mail server %s deferred the email (temporary failure, retry later): %s", addr, reply)
	}
	return newError([]error{err}, "sending email via %s failed at %s: %s", addr, se.step, reply)
}

// replyPattern matches a server reply as net/textproto.Error prints it since Go 1.26: the code
// and the quoted text, as in 550 "5.1.1 <x@y>: user unknown".
var replyPattern = regexp.MustCompile(`\b([2-5][0-9][0-9]) ("(?:[^"\\]|\\.)*")`)

// unquoteReplies prints the replies in s as the server sent them, on one line: 550 5.1.1 <x@y>:
// user unknown.
func unquoteReplies(s string) string {
	s = replyPattern.ReplaceAllStringFunc(s, func(m string) string {
		sub := replyPattern.FindStringSubmatch(m)
		text, err := strconv.Unquote(sub[2])
		if err != nil {
			return m
		}
		return sub[1] + " " + text
	})
	return oneLine(s)
}

// replyText prints a reply the way the server sent it, on one line.
func replyText(e *textproto.Error) string {
	return oneLine(fmt.Sprintf("%03d %s", e.Code, e.Msg))
}

// staleConnection reports whether a send on a reused connection failed in a way that shows the
// connection, not the email, is the problem, before the server could have accepted the email: no
// reply at all (the connection was closed or reset) or 421 (the server is closing it), at MAIL
// FROM, RCPT TO or DATA. Such a send may be retried on a new connection.
func staleConnection(err error) bool {
	var se *stepError
	if !errors.As(err, &se) {
		return false
	}
	switch se.step {
	case stepMail, stepRcpt, stepData:
	default:
		return false
	}
	code := se.code()
	return code == 0 || code == 421
}

// classifyDial classifies an error of opening a connection: dial, greeting, EHLO, STARTTLS or
// TLS handshake, and AUTH. None is the email's fault, so all are transient; the text says what
// an operator can do.
func classifyDial(err error, ep *endpoint, authStarted bool) error {
	addr := ep.addr()
	errs := []error{err}
	var reply *textproto.Error
	isReply := errors.As(err, &reply)
	switch {
	case isReply && reply.Code == codeAuthFailed:
		return newError(append([]error{ErrLoginRefused, ErrUnavailable}, errs...), "%s and restart the worker: mail server %s answered %s", authFailedHint, addr, replyText(reply))
	case errors.Is(err, smtp.ErrUnencrypted):
		return newError(misconfigured(errs), "authentication with mail server %s refused by this client: the connection is not encrypted and the password is never sent in clear text: use starttls=required or smtps:// in EVENTWORKER_MAIL_URL", addr)
	case errors.Is(err, errAuthMechanism):
		return newError(misconfigured(errs), "authentication with mail server %s failed: %v", addr, err)
	case authStarted && isReply && reply.Code >= 500:
		return newError(append([]error{ErrLoginRefused, ErrUnavailable}, errs...), "authentication with mail server %s failed: %s: check the user, password and auth= in EVENTWORKER_MAIL_URL and restart the worker", addr, replyText(reply))
	case authStarted && isReply:
		// 454 and the like: the server could not check the login just now.
		return newError(errs, "authentication with mail server %s failed for now: %s", addr, replyText(reply))
	case isCertificateError(err):
		return newError(misconfigured(errs), "TLS certificate of mail server %s is not trusted: %v: set ca_file=/path/ca.pem in EVENTWORKER_MAIL_URL to the CA that issued it (insecure_skip_verify=true turns the check off, for tests only)", addr, err)
	case isTLSError(err):
		return newError(misconfigured(errs), "TLS handshake with mail server %s failed: %v: check that the server speaks TLS there (smtps:// is TLS from the first byte, usually port 465; smtp:// upgrades with STARTTLS, usually port 587) and ca_file", addr, err)
	case strings.Contains(err.Error(), "does not support STARTTLS"):
		// go-mail v0.8.1 reports this with fmt.Errorf and no sentinel to match.
		return newError(misconfigured(errs), "mail server %s does not offer STARTTLS, and EVENTWORKER_MAIL_URL requires it (starttls=required is the default): use smtps:// if the server speaks TLS from the first byte, or starttls=opportunistic or starttls=none to accept unencrypted mail", addr)
	case isReply && reply.Code == codeServiceUnavailable:
		return newError([]error{ErrUnavailable, err}, "mail server %s is not available: %s", addr, replyText(reply))
	case isReply:
		return newError(errs, "mail server %s refused the connection: %s", addr, replyText(reply))
	case isNetworkError(err):
		return newError([]error{ErrUnavailable, err}, "connecting to mail server %s failed: %v: check the host and port in EVENTWORKER_MAIL_URL and that the server is up", addr, err)
	case isTimeout(err):
		// The dialer's own timeout, before the session: the server's, not the email's. A
		// deadline of the send's context is classified by contextError instead.
		return newError([]error{ErrUnavailable, err}, "connecting to mail server %s: no session before the timeout: %v: check the host and port in EVENTWORKER_MAIL_URL and that the server is up", addr, err)
	}
	return newError(errs, "connecting to mail server %s failed: %v: check the host and port in EVENTWORKER_MAIL_URL and that the server is up", addr, err)
}

// isNetworkError reports whether a dial failed in the network: refused, reset, unreachable, a
// name that does not resolve, or the connection closed before the greeting. Such a failure says
// nothing about the email; the dial's context ending is not one (a timeout is the caller's).
func isNetworkError(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &op) || errors.As(err, &dns) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// isTimeout reports whether err is a network timeout or a context deadline.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

func isCertificateError(err error) bool {
	var verr *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	return errors.As(err, &verr) || errors.As(err, &unknown) || errors.As(err, &host) ||
		errors.As(err, &invalid)
}

func isTLSError(err error) bool {
	var alert tls.AlertError
	var record tls.RecordHeaderError
	var echErr *tls.ECHRejectionError
	return errors.As(err, &alert) || errors.As(err, &record) || errors.As(err, &echErr) ||
		strings.Contains(err.Error(), "tls: ")
}

// oneLine joins a multi-line server reply into one line, without control characters.
func oneLine(s string) string {
	return strings.Join(strings.Fields(cleanText(s)), " ")
}

// misconfigured marks errs as a mismatch between EVENTWORKER_MAIL_URL and the server: the
// emails wait for the fix (ErrUnavailable) instead of spending their retries.
func misconfigured(errs []error) []error {
	return append([]error{ErrMisconfigured, ErrUnavailable}, errs...)
}
