package mailer

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"
)

// Auto-Submitted: auto-generated (RFC 3834) tells auto-responders (vacation replies, out of
// office) not to answer. A constant: nothing of a Message reaches a header unchecked.
const (
	headerAutoSubmitted = gomail.Header("Auto-Submitted")
	autoSubmittedValue  = "auto-generated"
	// X-Auto-Response-Suppress asks Exchange and Outlook not to send out-of-office or other
	// automatic replies, which they do not base on Auto-Submitted.
	headerAutoResponseSuppress = gomail.Header("X-Auto-Response-Suppress")
	autoResponseSuppressValue  = "OOF, AutoReply"
	// headerOriginalTo lists the recipients of an email that Config.Redirect sent elsewhere.
	headerOriginalTo = "X-Eventworker-Original-To"
)

// reservedHeaders are the fields the sender writes itself (lower case); Message.Headers may not
// set them, nor any Content- field.
var reservedHeaders = map[string]bool{
	"from": true, "to": true, "cc": true, "bcc": true, "reply-to": true, "sender": true, "subject": true,
	"date": true, "message-id": true, "mime-version": true, "return-path": true, "received": true,
	"auto-submitted": true, "x-auto-response-suppress": true, strings.ToLower(headerOriginalTo): true,
	"in-reply-to": true, "references": true, "list-unsubscribe": true, "list-unsubscribe-post": true,
	"dkim-signature": true, "disposition-notification-to": true,
}

// maxAddressLen is RFC 5321's limit of a path (256) less the angle brackets.
const maxAddressLen = 254

// maxMessageIDLen keeps "Message-ID: <id>" within one 998-byte header line with room to spare.
const maxMessageIDLen = 250

// Encode renders m as the RFC 5322 message (CRLF line ends) that the SMTP and file back ends
// send, checked the same way: an invalid m is an error matching ErrInvalidAddress or
// ErrInvalidMessage. A zero Date becomes the current time. For previews and tests.
func Encode(m *Message) ([]byte, error) {
	if m == nil {
		return nil, fmt.Errorf("%w: the message is nil", ErrInvalidMessage)
	}
	msg, err := buildMsg(m, time.Now())
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("encoding email %s: %w", m.MessageID, err)
	}
	return buf.Bytes(), nil
}

// buildMsg turns m into a go-mail message after checking every field that reaches a header.
// Addresses go in as net/mail.Address values (FromMailAddress, AddToMailAddress,
// ReplyToMailAddress), which go-mail renders with Address.String: the display name quoted or
// RFC 2047-encoded. go-mail's FromFormat family is not used: it pastes the name between double
// quotes and parses the result again, so a name with a quote could change the address. Display
// names and the subject lose their control characters first (cleanText); the subject goes
// through Subject, which RFC 2047-encodes it when needed. Nothing goes to a preformatted setter.
func buildMsg(m *Message, now time.Time) (*gomail.Msg, error) {
	var problems []error
	from, err := checkAddress("from", m.From)
	if err != nil {
		problems = append(problems, err)
	}
	if len(m.To) == 0 {
		problems = append(problems, fmt.Errorf("%w: it has no recipient: set To", ErrInvalidMessage))
	}
	to := make([]*mail.Address, 0, len(m.To))
	for i, a := range m.To {
		field := "to"
		if len(m.To) > 1 {
			field = fmt.Sprintf("to[%d]", i)
		}
		addr, err := checkAddress(field, a)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		to = append(to, addr)
	}
	var replyTo *mail.Address
	if m.ReplyTo != nil {
		replyTo, err = checkAddress("reply-to", *m.ReplyTo)
		if err != nil {
			problems = append(problems, err)
		}
	}
	if err := checkMessageID(m.MessageID); err != nil {
		problems = append(problems, err)
	}
	seen := map[string]bool{}
	for _, h := range m.Headers {
		if err := CheckHeader(h); err != nil {
			problems = append(problems, err)
		}
		if seen[strings.ToLower(h.Name)] {
			problems = append(problems, fmt.Errorf("%w: header %s is set twice", ErrInvalidMessage, h.Name))
		}
		seen[strings.ToLower(h.Name)] = true
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}

	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(from)
	for _, a := range to {
		msg.AddToMailAddress(a)
	}
	if replyTo != nil {
		msg.ReplyToMailAddress(replyTo)
	}
	msg.Subject(subjectText(m.Subject))
	msg.SetMessageIDWithValue(m.MessageID)
	date := m.Date
	if date.IsZero() {
		date = now
	}
	msg.SetDateWithValue(date)
	msg.SetGenHeader(headerAutoSubmitted, autoSubmittedValue)
	msg.SetGenHeader(headerAutoResponseSuppress, autoResponseSuppressValue)
	for _, h := range m.Headers {
		msg.SetGenHeader(gomail.Header(h.Name), h.Value) // CheckHeader: printable ASCII, as it is
	}
	if m.originalTo != "" {
		msg.SetGenHeader(headerOriginalTo, m.originalTo)
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	return msg, nil
}

// subjectText is the subject as go-mail's Subject should get it: cleaned, and, when it holds
// something that looks like an RFC 2047 encoded word ("=?"), encoded by us. go-mail encodes only
// text that needs it, so ASCII "=?utf-8?q?=0D=0A?=" would otherwise go out as is and a mail
// reader would decode it into a line break; encoded, the reader shows the text as the event had
// it. The result is ASCII without control characters either way.
//
// A run of text without spaces longer than maxHeaderWord is encoded too: go-mail folds header
// lines only at spaces, so such a run (a 1,000-character name in the subject) would make a line
// that servers refuse ("500 Line too long"); encoded words are at most 75 characters, each a
// place to fold.
func subjectText(s string) string {
	s = cleanText(s)
	if !strings.Contains(s, "=?") && !hasLongWord(s) {
		return s
	}
	return encodeWords(s)
}

// maxHeaderWord is the longest run without a space that a header keeps as it is: with the
// field's name it still fits RFC 5322's recommended 78 characters.
const maxHeaderWord = 60

// hasLongWord reports whether s has a run of more than maxHeaderWord bytes without a space.
func hasLongWord(s string) bool {
	for _, w := range strings.Split(s, " ") {
		if len(w) > maxHeaderWord {
			return true
		}
	}
	return false
}

// encodeWords RFC 2047-encodes s (valid UTF-8) as B encoded words of at most 75 characters,
// each holding whole characters, separated by spaces where go-mail may fold the line.
func encodeWords(s string) string {
	const prefix, suffix = "=?UTF-8?b?", "?="
	const maxBytes = (75 - len(prefix) - len(suffix)) / 4 * 3 // raw bytes per word
	var words []string
	for len(s) > 0 {
		n := min(len(s), maxBytes)
		for n < len(s) && !utf8.RuneStart(s[n]) {
			n--
		}
		words = append(words, prefix+base64.StdEncoding.EncodeToString([]byte(s[:n]))+suffix)
		s = s[n:]
	}
	return strings.Join(words, " ")
}

// addressError is an address that is not one bare addr-spec; it matches ErrInvalidAddress.
type addressError struct {
	field  string
	value  string
	reason string
}

func (e *addressError) Error() string {
	return fmt.Sprintf("%s: %s is not a valid email address: %s", e.field, quoteShort(e.value), e.reason)
}

func (e *addressError) Unwrap() error { return ErrInvalidAddress }

// checkAddress accepts a.Email only as exactly one bare addr-spec, the same string that
// net/mail parses it back to: no display name, angle brackets, comment, group or list, and no
// control character, space or invalid UTF-8. It returns the address with a.Name cleaned.
func checkAddress(field string, a Address) (*mail.Address, error) {
	fail := func(reason string) error {
		return &addressError{field: field, value: a.Email, reason: reason}
	}
	s := a.Email
	switch {
	case s == "":
		return nil, fail("it is empty")
	case len(s) > maxAddressLen:
		return nil, fail(fmt.Sprintf("it is longer than %d bytes", maxAddressLen))
	case !utf8.ValidString(s):
		return nil, fail("it is not valid UTF-8")
	case strings.IndexFunc(s, func(r rune) bool { return !unicode.IsGraphic(r) || unicode.IsSpace(r) }) >= 0:
		return nil, fail("it contains a control character or a space")
	case strings.ContainsAny(s, "<>,;"):
		return nil, fail("it must be a bare address such as name@example.com, without a display name, angle brackets or a list")
	}
	parsed, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fail(err.Error())
	}
	if parsed.Name != "" || parsed.Address != s {
		return nil, fail("it must be a bare address such as name@example.com, without a display name, quotes or comments")
	}
	return &mail.Address{Name: displayName(a.Name), Address: parsed.Address}, nil
}

// checkMessageID accepts an RFC 5322 msg-id without its angle brackets, in its dot-atom form:
// left@right, each side atext separated by single dots. That keeps it one header token.
func checkMessageID(id string) error {
	fail := func(reason string) error {
		return fmt.Errorf("%w: message ID %s %s", ErrInvalidMessage, quoteShort(id), reason)
	}
	if id == "" {
		return fail("is empty: derive it from the event and the template, e.g. order-1001.welcome@shop.example")
	}
	if len(id) > maxMessageIDLen {
		return fail(fmt.Sprintf("is longer than %d bytes", maxMessageIDLen))
	}
	left, right, ok := strings.Cut(id, "@")
	if !ok || !isDotAtom(left) || !isDotAtom(right) {
		return fail("is not left@right of letters, digits and !#$%&'*+-/=?^_`{|}~ with single dots between them, without angle brackets")
	}
	return nil
}

// isDotAtom reports whether s is RFC 5322 dot-atom-text (ASCII).
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-/=?^_`{|}~.", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// maxDisplayName is the most characters of a display name kept: an inbox shows fewer, and a
// longer one (the contract allows 1,000) could not be written within a header line's limit.
const maxDisplayName = 64

// displayName cleans a display name for net/mail's Address.String, which go-mail uses.
//
// A name longer than maxDisplayName characters is shortened and ends in "…". String writes an
// ASCII name as a quoted string and any other as RFC 2047 encoded words of at most 75
// characters, separated by spaces where go-mail folds the line; the ellipsis makes a shortened
// name one of the latter. An ASCII name holding "=?" would go out as a quoted string that looks
// like an encoded word, which many readers decode anyway (into a line break, say) and strict
// parsers refuse: a word joiner (U+2060, invisible) after the "=" makes it non-ASCII, so it goes
// out encoded and reads as the event had it. String's Q encoding leaves a backslash as it is;
// RFC 2047 forbids one there and strict parsers (Go's own) then refuse the whole header, so in
// a name that is encoded it becomes the fullwidth reverse solidus, which reads the same.
func displayName(s string) string {
	s = strings.ReplaceAll(cleanText(s), "=?", "=\u2060?")
	if utf8.RuneCountInString(s) > maxDisplayName {
		cut, n := 0, 0
		for i := range s {
			if n == maxDisplayName-1 {
				cut = i
				break
			}
			n++
		}
		s = strings.TrimSpace(s[:cut]) + "…"
	}
	if strings.ContainsRune(s, '\\') && strings.ContainsFunc(s, func(r rune) bool { return r >= utf8.RuneSelf }) {
		s = strings.ReplaceAll(s, "\\", "\uFF3C")
	}
	return s
}

// cleanText makes event text safe for a display name or the subject: CR, LF and every other
// control character, the Unicode line and paragraph separators and the bidirectional controls
// (which make a name display other than it reads) become spaces; invalid UTF-8 becomes U+FFFD.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if breaksText(r) {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

func breaksText(r rune) bool {
	switch {
	case unicode.IsControl(r): // C0 (NUL, TAB, LF, CR, ESC ...), DEL, C1 (NEL ...)
		return true
	case r == '\u2028', r == '\u2029': // line and paragraph separators
		return true
	case r == '\u061c', r == '\u200e', r == '\u200f', // bidi marks
		r >= '\u202a' && r <= '\u202e', // bidi embeddings and overrides
		r >= '\u2066' && r <= '\u2069': // bidi isolates
		return true
	}
	return false
}

// quoteShort quotes event text for an error message: escaped, so that it cannot break a log
// line, and cut to a length that keeps the error readable.
func quoteShort(s string) string {
	const limit = 100
	if len(s) <= limit {
		return fmt.Sprintf("%q", s)
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q...", s[:cut])
}

// maxHeaderValue bounds an extra header field's value, well within a header line.
const maxHeaderValue = 512

// CheckHeader accepts an extra header field (Message.Headers): a name of letters, digits and
// hyphens that the sender does not write itself (nor a Content-, Resent- or other field that
// would change the email's meaning), and a value of printable ASCII, without "=?", of at most
// 512 bytes. Values go out as they are, never encoded: the services that read such fields (an
// email service's tags, Gmail's Feedback-ID) read them raw. Its errors match ErrInvalidMessage.
func CheckHeader(h Header) error {
	if err := checkHeaderName(h.Name); err != nil {
		return err
	}
	if len(h.Value) > maxHeaderValue || strings.Contains(h.Value, "=?") ||
		strings.IndexFunc(h.Value, func(r rune) bool { return r < ' ' || r > '~' }) >= 0 {
		return fmt.Errorf("%w: header %s: the value %s is not printable ASCII without \"=?\", of at most %d bytes", ErrInvalidMessage, h.Name, quoteShort(h.Value), maxHeaderValue)
	}
	return nil
}

// checkHeaderName accepts an extra header field's name (see CheckHeader).
func checkHeaderName(name string) error {
	if name == "" || len(name) > 64 || strings.IndexFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-')
	}) >= 0 {
		return fmt.Errorf("%w: header name %s is not 1 to 64 letters, digits and hyphens", ErrInvalidMessage, quoteShort(name))
	}
	lower := strings.ToLower(name)
	if reservedHeaders[lower] || strings.HasPrefix(lower, "content-") || strings.HasPrefix(lower, "resent-") {
		return fmt.Errorf("%w: header %s is written by the sender and cannot be set", ErrInvalidMessage, name)
	}
	return nil
}
