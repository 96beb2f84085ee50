package mailer

import (
	"context"
	"errors"
	"time"
)

// Address is a mailbox: an optional display name and an RFC 5322 addr-spec.
type Address struct {
	Name  string
	Email string
}

// Message is one rendered email. Every field may hold text that came from an event: the sender
// treats all of it as data, never as preformatted header text.
type Message struct {
	From    Address
	To      []Address
	ReplyTo *Address
	Subject string
	// Text and HTML are the two parts of the multipart/alternative body.
	Text string
	HTML string
	// MessageID is the Message-ID without angle brackets; derived from the event and template
	// so that a resend after a crash carries the same one.
	MessageID string
	// Date is the Date header; the zero time means the time of sending.
	Date time.Time
	// Template names the email for metrics and logs.
	Template string
	// Headers are extra header fields, such as an email service's tags or Feedback-ID. A name is
	// letters, digits and hyphens, and none the sender writes itself; a value is text, cleaned
	// and encoded like the subject.
	Headers []Header

	// originalTo, set on a redirected copy, lists the recipients it was for.
	originalTo string
}

// Header is one extra header field of a Message.
type Header struct {
	Name, Value string
}

// Sender delivers messages. Send is safe for concurrent use.
type Sender interface {
	// Send delivers m once or returns an error; IsPermanent tells whether retrying can help.
	Send(ctx context.Context, m *Message) error
	// Close aborts the sends in progress (their emails are not accepted, so Send returns an
	// error) and releases the sender's connections.
	Close() error
}

var (
	// ErrRejected reports that the server refused the message or a recipient for good (SMTP
	// 5xx); the error text carries the server's reply.
	ErrRejected = errors.New("mail rejected by server")
	// ErrInvalidAddress reports an address that is not a single RFC 5322 addr-spec.
	ErrInvalidAddress = errors.New("invalid email address")
	// ErrInvalidMessage reports a message that cannot be sent as it is: no recipient, or a
	// Message-ID that is not an RFC 5322 msg-id. Like ErrInvalidAddress it is permanent.
	ErrInvalidMessage = errors.New("invalid email message")
	// ErrInvalidURL reports an unusable EVENTWORKER_MAIL_URL.
	ErrInvalidURL = errors.New("invalid mail URL")
	// ErrClosed reports a Send after Close.
	ErrClosed = errors.New("mail sender closed")
	// ErrUnavailable reports that the mail server could not be reached (connection refused,
	// host or network unreachable, reset while connecting, or no SMTP session within the
	// timeout: the connect, greeting or EHLO did not complete) or answered 421 (service not
	// available): the server is down, not the email at fault, so the same email goes out once
	// the server is back. It is transient. A timeout or a broken connection during the
	// transaction (MAIL FROM to the end of DATA) is not unavailable: the email may be the cause.
	ErrUnavailable = errors.New("mail server unavailable")
	// ErrLoginRefused reports that the mail server refused the worker's credentials or
	// requires credentials it was not given (SMTP 530, 534, 535, 538). No email can go out until
	// an operator fixes EVENTWORKER_MAIL_URL, and no email is at fault: such an error matches
	// ErrUnavailable too, so emails wait for the fix instead of spending their retries.
	ErrLoginRefused = errors.New("mail server refused the login")
	// ErrMisconfigured reports that the worker cannot talk to the mail server as
	// EVENTWORKER_MAIL_URL says: a certificate it does not trust, TLS where the server speaks
	// none (or the reverse), STARTTLS required but not offered, an AUTH mechanism the server
	// does not offer. Like ErrLoginRefused, no email can go out until an operator fixes the URL,
	// and none is at fault: it matches ErrUnavailable too.
	ErrMisconfigured = errors.New("mail server settings do not match the server")
)

// IsUnavailable reports whether err means that the mail server itself could not be reached or
// would not take any email, whatever the email: see ErrUnavailable and ErrLoginRefused.
func IsUnavailable(err error) bool { return errors.Is(err, ErrUnavailable) }

// IsPermanent reports whether err means that sending the same message again cannot succeed.
func IsPermanent(err error) bool {
	return errors.Is(err, ErrRejected) || errors.Is(err, ErrInvalidAddress) ||
		errors.Is(err, ErrInvalidMessage)
}
