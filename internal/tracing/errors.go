package tracing

import (
	"fmt"
	"regexp"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// address matches what looks like an email address in an error's text.
var address = regexp.MustCompile(`[^\s<>"',;:()\[\]]+@[^\s<>"',;:()\[\]]+`)

// Scrub replaces the email addresses in s with "<address>": spans leave the worker for a
// trace backend, which must not learn the shop's customers from its error texts (the log,
// which stays with the operator, keeps them).
func Scrub(s string) string { return address.ReplaceAllString(s, "<address>") }

// RecordError adds to span an exception event for err of class, as span.RecordError would,
// with the text scrubbed of email addresses.
func RecordError(span trace.Span, err error, class string) {
	if err == nil || !span.IsRecording() {
		return
	}
	span.AddEvent("exception", trace.WithAttributes(
		attribute.String("exception.type", fmt.Sprintf("%T", err)),
		attribute.String("exception.message", Scrub(err.Error())),
		ErrorClass.String(class),
	))
}
