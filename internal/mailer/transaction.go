package mailer

import (
	"errors"
	"net/textproto"

	mail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// Steps of an SMTP transaction, as stepError names them.
const (
	stepAddresses = "reading the message's addresses"
	stepMail      = "MAIL FROM"
	stepRcpt      = "RCPT TO"
	stepData      = "DATA"
	stepContent   = "sending the message content"
)

// stepError is an error of one step of transaction: the server's reply (a *textproto.Error),
// or what broke the connection.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

// code is the server's reply code, 0 when the step failed without a reply.
func (e *stepError) code() int {
	var reply *textproto.Error
	if errors.As(e.err, &reply) {
		return reply.Code
	}
	return 0
}

// transaction sends msg on the open connection conn: MAIL FROM, RCPT TO for each recipient,
// DATA and the content, whose reply ends the transaction (RFC 5321 3.3). go-mail's
// SendWithSMTPClient also sends NOOP before and RSET after every email: two round trips the
// transaction does not need, since a connection the server closed shows at MAIL FROM, where
// deliver retries on a new connection, and a failed transaction is never continued: deliver
// discards its connection.
func transaction(conn *smtp.Client, msg *mail.Msg) error {
	from, err := msg.GetSender(false)
	if err != nil {
		return &stepError{stepAddresses, err}
	}
	rcpts, err := msg.GetRecipients()
	if err != nil {
		return &stepError{stepAddresses, err}
	}
	if err := conn.Mail(from); err != nil {
		return &stepError{stepMail, err}
	}
	for _, rcpt := range rcpts {
		if err := conn.Rcpt(rcpt); err != nil {
			return &stepError{stepRcpt, err}
		}
	}
	w, err := conn.Data()
	if err != nil {
		return &stepError{stepData, err}
	}
	if _, err := msg.WriteTo(w); err != nil {
		return &stepError{stepContent, err}
	}
	if err := w.Close(); err != nil {
		return &stepError{stepContent, err}
	}
	return nil
}
