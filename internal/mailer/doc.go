// Package mailer delivers the worker's rendered emails through the back end named by
// EVENTWORKER_MAIL_URL: an SMTP relay (smtp:// with STARTTLS, smtps:// with implicit TLS), a
// directory of .eml files (file://DIR) or the log (log://).
//
// Every field of a Message may come from an event, so from an attacker: the package passes
// display names and the subject to go-mail only after replacing control characters with spaces,
// accepts an address only as one bare addr-spec, and never hands message text to go-mail's
// preformatted-header setters. go-mail then quotes or RFC 2047-encodes what it writes.
//
// The SMTP sender keeps one connection open across emails, serialises sends on it, redials
// after any error and retries once, transparently, an email that failed on a stale connection
// before the server saw its content. Each send is bounded by Config.Timeout and by the
// caller's context, and all sends share one token-bucket rate limit (Config.Rate).
//
// Errors are classified for the caller: IsPermanent is true for a message the server refused
// for good (SMTP 5xx to the message or a recipient) and for a message that is invalid as it is;
// everything else (4xx, timeouts, network errors, TLS and authentication problems) is transient
// and worth a retry, after an operator fixes the configuration if the error says so. Of those,
// IsUnavailable is true when the server itself could not be reached (connection refused or
// reset, unreachable, or no SMTP session within the timeout: no connect, greeting or answer to
// EHLO) or answered 421: whatever the email, it goes out once the server is back. A timeout
// during the transaction (MAIL FROM to DATA) is only transient: the email may be the cause.
package mailer
